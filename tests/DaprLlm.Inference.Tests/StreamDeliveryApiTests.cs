using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>v1/generate/stream when the scheduler hands a reader many tokens per wake-up: still one SSE event per token.</summary>
public sealed class StreamDeliveryApiTests(PerStepStreamAppFactory perStep, HeldTokensAppFactory held)
    : IClassFixture<PerStepStreamAppFactory>, IClassFixture<HeldTokensAppFactory>
{
    private const string Verse = "In the beginning God created the heaven and the earth.";

    [Fact]
    public async Task Tokens_flushed_together_are_still_one_event_each_equal_to_the_per_step_stream_and_the_plain_result()
    {
        var ct = TestContext.Current.CancellationToken;
        using var perStepClient = perStep.CreateClient();
        using var heldClient = held.CreateClient();
        var request = Api.Request(Verse, 40, temperature: 0.9, seed: 11);

        var plain = await Api.GenerateAsync(heldClient, request, ct);
        using var heldResponse = await heldClient.SendAsync(Api.StreamRequest(request), HttpCompletionOption.ResponseHeadersRead, ct);
        var heldEvents = await Api.ReadEventsAsync(heldResponse, ct);
        using var perStepResponse = await perStepClient.SendAsync(Api.StreamRequest(request), HttpCompletionOption.ResponseHeadersRead, ct);
        var perStepEvents = await Api.ReadEventsAsync(perStepResponse, ct);

        Assert.Equal(perStepEvents.Select(e => e.GetRawText()), heldEvents.Select(e => e.GetRawText()));
        var end = heldEvents[^1];
        Assert.Equal("end", end.GetProperty("type").GetString());
        Assert.Equal(plain.GetProperty("completionTokens").GetInt32(), end.GetProperty("completionTokens").GetInt32());
        Assert.InRange(heldEvents.Count - 1, 2, 40);
        Assert.All(heldEvents[..^1], e => Assert.Equal("token", e.GetProperty("type").GetString()));
        Assert.Equal(plain.GetProperty("text").GetString(), string.Concat(heldEvents[..^1].Select(e => e.GetProperty("text").GetString())));
    }
}
