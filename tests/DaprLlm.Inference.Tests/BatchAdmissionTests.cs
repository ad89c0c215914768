using System.Collections.Concurrent;
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

/// <summary>Requests enqueued together are admitted together: one prefill, then every decode step carries all of them.</summary>
public sealed class BatchAdmissionTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ConcurrentQueue<int> _stepRows = new();
    private readonly MeterListener _listener = new();
    private readonly BatchScheduler _scheduler;

    public BatchAdmissionTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        // Only this test's meter: other tests' schedulers record batch sizes at the same time.
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "daprllm.inference.batch_size")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, rows, _, _) => _stepRows.Enqueue(rows));
        _listener.Start();
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (decoder, provider) = OnnxDecoder.Open(DemoModel.Folder, config, ["CPU"], 1, NullLogger.Instance);
        _scheduler = new BatchScheduler("admission", provider, decoder, ModelTokenizer.Load(DemoModel.Folder), [], config.ContextLength, 8, 8,
            new InferenceMetrics(factory), NullLogger.Instance);
    }

    [Fact]
    public async Task Requests_enqueued_together_share_every_decode_step()
    {
        var ct = TestContext.Current.CancellationToken;
        var jobs = Enumerable.Range(0, 6).Select(i => Job($"Verse {i}: the LORD is my shepherd.", ct)).ToList();

        Assert.True(_scheduler.TryEnqueueAll(jobs));
        foreach (var job in jobs)
        {
            await foreach (var _ in job.Events.ReadAllAsync(ct))
            {
            }
        }

        // 5 tokens each: the first from the shared prefill, four from four 6-row steps.
        Assert.Equal([6, 6, 6, 6], _stepRows.ToArray());
    }

    [Fact]
    public void A_group_larger_than_the_free_queue_is_refused_whole()
    {
        var ct = TestContext.Current.CancellationToken;
        var jobs = Enumerable.Range(0, 9).Select(i => Job("Jesus wept.", ct)).ToList();

        Assert.False(_scheduler.TryEnqueueAll(jobs));
        Assert.Equal(0, _scheduler.QueueDepth);
    }

    [Fact]
    public async Task A_non_streamed_request_is_woken_once_and_gets_the_streamed_text()
    {
        var ct = TestContext.Current.CancellationToken;
        var streamed = Job("The LORD is my shepherd.", ct, maxTokens: 12);
        var collected = Job("The LORD is my shepherd.", ct, maxTokens: 12, stream: false);

        Assert.True(_scheduler.TryEnqueue(streamed));
        var streamedText = "";
        await foreach (var e in streamed.Events.ReadAllAsync(ct))
        {
            streamedText += e is GenerationEvent.Token t ? t.Text : "";
        }

        Assert.True(_scheduler.TryEnqueue(collected));
        var events = new List<GenerationEvent>();
        await foreach (var e in collected.Events.ReadAllAsync(ct))
        {
            events.Add(e);
        }

        Assert.Equal(new GenerationEvent.End("length", collected.PromptIds.Count, 12), Assert.Single(events));
        Assert.NotEmpty(streamedText);
        Assert.Equal(streamedText, collected.CollectedText);
    }

    private static GenerationJob Job(string prompt, CancellationToken ct, int maxTokens = 5, bool stream = true) =>
        new(ChatTemplate.For(ModelTokenizer.Load(DemoModel.Folder)).Render([new ChatMessage("user", prompt)]),
            new SamplingParameters(maxTokens, 0, 1, 0, null, []), ct, stream);

    public void Dispose()
    {
        _scheduler.Dispose();
        _listener.Dispose();
        _services.Dispose();
    }
}
