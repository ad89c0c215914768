using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>Continuous batching through the HTTP API: batch mates do not change a request's output or make it wait.</summary>
public sealed class BatchingTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>
{
    private static readonly string[] Prompts =
    [
        "In the beginning God created the heaven and the earth.",
        "And the earth was without form, and void.",
        "The LORD is my shepherd; I shall not want.",
        "Blessed are the meek: for they shall inherit the earth.",
        "Jesus wept.",
        "And Moses went up unto God.",
        "Vanity of vanities, saith the Preacher; all is vanity.",
        "For God so loved the world, that he gave his only begotten Son.",
        "Then the king spake unto Daniel.",
        "Praise ye the LORD.",
        "And Abraham rose up early in the morning.",
        "Hear, O Israel: The LORD our God is one LORD.",
        "Let us now praise famous men.",
        "And it came to pass in those days.",
        "My son, forget not my law.",
        "The heavens declare the glory of God.",
    ];

    [Fact]
    public async Task Sixteen_concurrent_greedy_requests_each_equal_the_same_request_run_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var solo = new List<string>();
        foreach (var prompt in Prompts)
        {
            solo.Add(Describe(await Api.GenerateAsync(client, Api.Request(prompt, maxTokens: 32), ct)));
        }

        var together = await Task.WhenAll(Prompts.Select(p => Api.GenerateAsync(client, Api.Request(p, maxTokens: 32), ct)));

        Assert.Equal(solo, together.Select(Describe));
    }

    [Fact]
    public async Task Same_seed_gives_the_same_sample_alone_and_among_batch_mates()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var request = Api.Request(Prompts[2], maxTokens: 24, temperature: 0.8, seed: 1234, topP: 0.95, topK: 40);
        var alone = Describe(await Api.GenerateAsync(client, request, ct));

        var mates = Prompts.Take(7).Select(p => Api.GenerateAsync(client, Api.Request(p, maxTokens: 32, temperature: 1.0), ct)).ToList();
        var amongMates = Describe(await Api.GenerateAsync(client, request, ct));
        await Task.WhenAll(mates);

        Assert.Equal(alone, amongMates);
    }

    private static string Describe(JsonElement result) =>
        $"{result.GetProperty("text").GetString()}|{result.GetProperty("completionTokens").GetInt32()}|{result.GetProperty("finishReason").GetString()}";
}

/// <summary>A full queue is refused with 429, Retry-After and an OpenAI error instead of waiting forever.</summary>
public sealed class QueueLimitTests(TinyQueueAppFactory app) : IClassFixture<TinyQueueAppFactory>
{
    [Fact]
    public async Task Requests_beyond_the_batch_and_queue_get_429_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        // Only this class's tiny queue refuses requests, so every refusal the meter sees during the test is one of ours.
        var rejectedByMeter = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Telemetry.InferenceMetrics.MeterName && instrument.Name == "daprllm.inference.rejected")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref rejectedByMeter, value));
        listener.Start();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            client.PostAsJsonAsync("/v1/generate", Api.Request("The LORD is my shepherd.", maxTokens: 64, temperature: 1.0, seed: i), ct)));

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal("2", refused[0].Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var error = JsonDocument.Parse(await refused[0].Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("queue_full", error.GetProperty("code").GetString());
        Assert.True(Interlocked.Read(ref rejectedByMeter) >= refused.Count, $"rejected counter {rejectedByMeter}, refused {refused.Count}");
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }
}
