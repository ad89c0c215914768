using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>QueueDepth = 0: a request is accepted only when a batch slot is free for it, none waits.</summary>
public sealed class ZeroQueueDepthTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly BatchScheduler _scheduler;

    public ZeroQueueDepthTests()
    {
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (decoder, provider) = OnnxDecoder.Open(DemoModel.Folder, config, ["CPU"], 1, NullLogger.Instance);
        _scheduler = new BatchScheduler("zero-queue", provider, decoder, ModelTokenizer.Load(DemoModel.Folder), [], config.ContextLength,
            maxBatch: 1, queueDepth: 0, new InferenceMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), NullLogger.Instance);
    }

    [Fact]
    public async Task A_request_is_refused_while_the_only_slot_runs_and_accepted_once_it_is_free()
    {
        var ct = TestContext.Current.CancellationToken;
        using var running = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // No end ids: it runs to the context length (about 240 tokens), far longer than the checks below take.
        var first = Job(running.Token, maxTokens: 10_000);

        Assert.True(_scheduler.TryEnqueue(first));
        await Poll.UntilAsync(() => _scheduler.QueueDepth == 0, TimeSpan.FromSeconds(30), "the first request to take the slot");
        Assert.False(_scheduler.TryEnqueue(Job(ct)));
        Assert.False(_scheduler.TryEnqueueAll([Job(ct)]));

        await running.CancelAsync();
        var end = await LastEventAsync(first, ct);
        Assert.Equal("cancelled", Assert.IsType<GenerationEvent.End>(end).FinishReason);

        var next = Job(ct);
        await Poll.UntilAsync(() => _scheduler.TryEnqueue(next), TimeSpan.FromSeconds(30), "the freed slot to take a request");
        Assert.Equal("length", Assert.IsType<GenerationEvent.End>(await LastEventAsync(next, ct)).FinishReason);
    }

    private static async Task<GenerationEvent?> LastEventAsync(GenerationJob job, CancellationToken ct)
    {
        GenerationEvent? last = null;
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            last = e;
        }

        return last;
    }

    private static GenerationJob Job(CancellationToken ct, int maxTokens = 3) =>
        new(ChatTemplate.For(ModelTokenizer.Load(DemoModel.Folder)).Render([new ChatMessage("user", "In the beginning")]),
            new SamplingParameters(maxTokens, 0, 1, 0, null, []), ct);

    public void Dispose()
    {
        _scheduler.Dispose();
        _services.Dispose();
    }
}
