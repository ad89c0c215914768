using System.Diagnostics.Metrics;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// Streamed tokens reach their readers in per-step (or per-interval) batches on the real scheduler: every token still
/// arrives, in order, as its own event, and a reader that does not read holds up no one.
/// </summary>
public sealed class StreamDeliveryTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load(DemoModel.Folder);
    private readonly BatchScheduler _perStep;
    private readonly BatchScheduler _held;

    public StreamDeliveryTests()
    {
        _perStep = NewScheduler(TimeSpan.Zero);
        // Longer than any generation here: after the first token, everything arrives with the end.
        _held = NewScheduler(TimeSpan.FromHours(1));
    }

    private BatchScheduler NewScheduler(TimeSpan streamInterval)
    {
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (decoder, provider) = OnnxDecoder.Open(DemoModel.Folder, config, ["CPU"], 1, NullLogger.Instance);
        // No end ids: every request runs to max_tokens.
        return new BatchScheduler("delivery", provider, decoder, _tokenizer, [], config.ContextLength, 8, 16,
            new InferenceMetrics(_services.GetRequiredService<IMeterFactory>()), NullLogger.Instance, streamInterval);
    }

    [Fact]
    public async Task Tokens_held_between_wake_ups_arrive_in_order_one_event_each_and_equal_the_collected_text()
    {
        var ct = TestContext.Current.CancellationToken;
        var perStep = await ReadAsync(_perStep, Job("The LORD is my shepherd.", 40, ct, seed: 7), ct);
        var held = await ReadAsync(_held, Job("The LORD is my shepherd.", 40, ct, seed: 7), ct);
        var collected = Job("The LORD is my shepherd.", 40, ct, seed: 7, stream: false);
        var collectedEvents = await ReadAsync(_held, collected, ct);

        Assert.Equal(new GenerationEvent.End("length", collected.PromptIds.Count, 40), held[^1]);
        Assert.Equal(perStep, held);
        Assert.InRange(held.Count - 1, 2, 40);
        Assert.All(held[..^1], e => Assert.IsType<GenerationEvent.Token>(e));
        Assert.Equal(collectedEvents, [held[^1]]);
        Assert.Equal(string.Concat(held[..^1].Cast<GenerationEvent.Token>().Select(t => t.Text)), collected.CollectedText);
    }

    [Fact]
    public async Task A_reader_that_does_not_read_does_not_stall_the_other_streams()
    {
        var ct = TestContext.Current.CancellationToken;
        var jobs = Enumerable.Range(0, 4).Select(i => Job("Praise ye the LORD.", 30, ct, seed: i)).ToList();
        Assert.True(_perStep.TryEnqueueAll(jobs));

        // jobs[0]'s reader is asleep while the others read to the end.
        var others = await Task.WhenAll(jobs.Skip(1).Select(j => ReadAsync(_perStep, j, ct, enqueue: false)));
        Assert.All(others, events => Assert.Equal(new GenerationEvent.End("length", jobs[0].PromptIds.Count, 30), events[^1]));

        var late = await ReadAsync(_perStep, jobs[0], ct, enqueue: false);
        var alone = await ReadAsync(_perStep, Job("Praise ye the LORD.", 30, ct, seed: 0), ct);
        Assert.Equal(alone, late);
    }

    private static GenerationJob Job(string prompt, int maxTokens, CancellationToken ct, int seed, bool stream = true) =>
        new(ChatTemplate.For(ModelTokenizer.Load(DemoModel.Folder)).Render([new ChatMessage("user", prompt)]),
            new SamplingParameters(maxTokens, 0.9, 1, 0, seed, []), ct, stream);

    private static async Task<List<GenerationEvent>> ReadAsync(BatchScheduler scheduler, GenerationJob job, CancellationToken ct, bool enqueue = true)
    {
        if (enqueue)
        {
            Assert.True(scheduler.TryEnqueue(job));
        }

        var events = new List<GenerationEvent>();
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            events.Add(e);
        }

        return events;
    }

    public void Dispose()
    {
        _perStep.Dispose();
        _held.Dispose();
        _services.Dispose();
    }
}
