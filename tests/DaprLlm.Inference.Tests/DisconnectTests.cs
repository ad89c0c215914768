using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// Tests that need a disconnect to reach the scheduler while a 200-token generation still runs. They run alone: when
/// other classes start apps and load models at the same time, the thread pool that carries the abort can lag by
/// about a second, longer than the generation takes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DisconnectCollection
{
    public const string Name = "disconnects";
}

/// <summary>A streamed request whose client goes away (in-memory test server): cancelled, and its slot freed.</summary>
[Collection(DisconnectCollection.Name)]
public sealed class InProcessDisconnectTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>
{
    private const string Verse = "And God said, Let there be light: and there was light.";

    [Fact]
    public async Task Client_disconnect_cancels_the_stream_and_frees_its_slot()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        var scheduler = (await registry.GetAsync(InferenceAppFactory.Model)).Scheduler!;
        using var finishes = new FinishReasons(app.Services);
        // Seeded sampling is deterministic: this request, left alone, runs to its max_tokens (checked first), so a
        // "cancelled" end can only come from the disconnect, not from the model ending its turn early.
        var request = Api.Request(Verse, 200, temperature: 2.0, seed: 3, topP: 1.0, topK: 0);
        var uncut = await Api.GenerateAsync(client, request, ct);
        Assert.Equal("length", uncut.GetProperty("finishReason").GetString());

        using (var response = await client.SendAsync(Api.StreamRequest(request), HttpCompletionOption.ResponseHeadersRead, ct))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            var first = await reader.ReadLineAsync(ct);
            Assert.StartsWith("data: ", first);
        }

        await Poll.UntilAsync(() => finishes.Seen.Count >= 2, TimeSpan.FromSeconds(30), "the streamed request to finish");
        Assert.Equal(["cancelled", "length"], finishes.Seen.Order(StringComparer.Ordinal));
        await Poll.UntilAsync(() => scheduler.ActiveRows == 0 && scheduler.QueueDepth == 0, TimeSpan.FromSeconds(30), "the cancelled row to leave the batch");
    }
}
