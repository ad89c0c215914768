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

/// <summary>
/// The gauges an autoscaler reads (queue depth, active requests, KV-cache occupancy) report what the scheduler
/// holds, tagged with the model and its execution provider, and fall back to zero when the work is gone.
/// </summary>
public sealed class SchedulerGaugeTests : IDisposable
{
    private const string QueueDepth = "daprllm.inference.queue_depth";
    private const string Active = "daprllm.inference.active_requests";
    private const string Kv = "daprllm.inference.kv_cache.occupancy";

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _last = new();
    private readonly ConcurrentQueue<string> _tags = new();
    private readonly BatchScheduler _scheduler;

    public SchedulerGaugeTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        // Only this test's meter: other tests' schedulers report gauges in the same process.
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name is QueueDepth or Active or Kv)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            _last[instrument.Name] = value;
            foreach (var tag in tags)
            {
                _tags.Enqueue($"{tag.Key}={tag.Value}");
            }
        });
        _listener.Start();
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (decoder, provider) = OnnxDecoder.Open(DemoModel.Folder, config, ["CPU"], 1, NullLogger.Instance);
        // One batch slot and no end-of-turn id: the first request holds the slot for its whole max_tokens, the others wait.
        _scheduler = new BatchScheduler("gauges", provider, decoder, ModelTokenizer.Load(DemoModel.Folder), [], config.ContextLength, 1, 8,
            new InferenceMetrics(factory), NullLogger.Instance);
    }

    [Fact]
    public async Task Queue_depth_active_requests_and_kv_occupancy_report_waiting_and_running_requests_then_zero()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var prompt = ChatTemplate.For(ModelTokenizer.Load(DemoModel.Folder)).Render([new ChatMessage("user", "Praise ye the LORD.")]);
        var jobs = Enumerable.Range(0, 8).Select(_ => new GenerationJob(prompt, new SamplingParameters(200, 0, 1, 0, null, []), cancel.Token)).ToList();

        Assert.True(_scheduler.TryEnqueueAll(jobs));

        // While the first request runs, the other seven wait for its slot (each runs 200 tokens: seconds of work in all).
        await Poll.UntilAsync(() => Read() is { Queue: >= 1 and <= 7, Active: 1, Kv: > 0 }, TimeSpan.FromSeconds(30),
            "the gauges to show one running request and the waiting ones");
        Assert.Contains("gen_ai.request.model=gauges", _tags);
        Assert.Contains("daprllm.execution_provider=CPU", _tags);

        cancel.Cancel();
        await Poll.UntilAsync(() => Read() is { Queue: 0, Active: 0, Kv: 0 }, TimeSpan.FromSeconds(30), "the gauges to fall back to zero");
        foreach (var job in jobs)
        {
            await foreach (var _ in job.Events.ReadAllAsync(ct))
            {
            }
        }
    }

    private (double Queue, double Active, double Kv) Read()
    {
        _listener.RecordObservableInstruments();
        return (_last.GetValueOrDefault(QueueDepth, -1), _last.GetValueOrDefault(Active, -1), _last.GetValueOrDefault(Kv, -1));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _scheduler.Dispose();
        _services.Dispose();
    }
}
