using System.Diagnostics.Metrics;

namespace DaprLlm.Inference.Telemetry;

/// <summary>
/// OpenTelemetry GenAI server metrics (gen_ai.server.*, gen_ai.client.token.usage) plus the batching signals
/// an autoscaler reads: queue depth, batch size, KV-cache occupancy, tokens per second per model and provider.
/// </summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "DaprLlm.Inference";

    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _tokenUsage;
    private readonly Counter<long> _generatedTokens;
    private readonly Histogram<int> _batchSize;
    private readonly Counter<long> _rejected;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requestDuration = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Time from request arrival to its last token.");
        _timeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from request arrival to its first generated token.");
        _timePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Decode time per output token after the first.");
        _tokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Input and output tokens per request.");
        _generatedTokens = meter.CreateCounter<long>("daprllm.inference.generated_tokens", "{token}", "Tokens generated (rate = tokens/s).");
        _batchSize = meter.CreateHistogram<int>("daprllm.inference.batch_size", "{request}", "Rows in each decode step.");
        _rejected = meter.CreateCounter<long>("daprllm.inference.rejected", "{request}", "Requests refused because the queue was full.");
        meter.CreateObservableGauge("daprllm.inference.queue_depth", () => Observe(s => s.QueueDepth), "{request}", "Requests waiting for a batch slot.");
        meter.CreateObservableGauge("daprllm.inference.active_requests", () => Observe(s => s.ActiveRows), "{request}", "Requests in the running batch.");
        meter.CreateObservableGauge("daprllm.inference.kv_cache.occupancy", () => Observe(s => s.KvOccupancy), "1", "KV positions in use / (max batch × context).");
    }

    private readonly List<ISchedulerGauges> _schedulers = [];

    public void Register(ISchedulerGauges scheduler)
    {
        lock (_schedulers)
        {
            _schedulers.Add(scheduler);
        }
    }

    private IEnumerable<Measurement<double>> Observe(Func<ISchedulerGauges, double> read)
    {
        lock (_schedulers)
        {
            return _schedulers.Select(s => new Measurement<double>(read(s), Tags(s.ModelId, s.ExecutionProvider))).ToList();
        }
    }

    public void RequestFinished(string model, string provider, double seconds, double? ttftSeconds, int promptTokens, int completionTokens, string finishReason)
    {
        var tags = Tags(model, provider);
        _requestDuration.Record(seconds, [.. tags, new("gen_ai.response.finish_reasons", finishReason)]);
        if (ttftSeconds is { } ttft)
        {
            _timeToFirstToken.Record(ttft, tags);
            if (completionTokens > 1)
            {
                _timePerOutputToken.Record((seconds - ttft) / (completionTokens - 1), tags);
            }
        }

        _tokenUsage.Record(promptTokens, [.. tags, new("gen_ai.token.type", "input")]);
        _tokenUsage.Record(completionTokens, [.. tags, new("gen_ai.token.type", "output")]);
    }

    /// <summary>One decode step: rows in the ONNX Runtime call (finished rows riding along included) and tokens it produced.</summary>
    public void Step(string model, string provider, int batch, int tokens)
    {
        var tags = Tags(model, provider);
        _batchSize.Record(batch, tags);
        _generatedTokens.Add(tokens, tags);
    }

    public void Rejected(string model) => _rejected.Add(1, new KeyValuePair<string, object?>("gen_ai.request.model", model));

    private static KeyValuePair<string, object?>[] Tags(string model, string provider) =>
    [
        new("gen_ai.operation.name", "chat"),
        new("gen_ai.system", provider == Catalog.ExecutionProviderNames.Remote ? "openai" : "onnx_runtime"),
        new("gen_ai.request.model", model),
        new("daprllm.execution_provider", provider),
    ];
}

/// <summary>What a scheduler exposes to observable gauges.</summary>
public interface ISchedulerGauges
{
    string ModelId { get; }

    string ExecutionProvider { get; }

    double QueueDepth { get; }

    double ActiveRows { get; }

    double KvOccupancy { get; }
}
