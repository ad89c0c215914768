using System.Diagnostics;
using System.Diagnostics.Metrics;
using DaprLlm.Safety.Classification;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// One <c>apply_guardrail</c> span per check with the GenAI guardrail attributes, decision counters by category,
/// action and tenant, and latency per layer (rules, model, whole check).
/// </summary>
public sealed class SafetyTelemetry : IDisposable
{
    public const string SourceName = "DaprLlm.Safety";
    public const string GuardrailName = "daprllm-safety";

    private readonly Meter _meter = new(SourceName);
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _categoryFlags;
    private readonly Histogram<double> _layerLatency;
    private readonly Counter<long> _eventsDropped;

    public SafetyTelemetry()
    {
        _decisions = _meter.CreateCounter<long>("daprllm.safety.decisions", description: "Moderation decisions by action, direction and tenant");
        _categoryFlags = _meter.CreateCounter<long>("daprllm.safety.category_flags", description: "Categories that routed a text to review or block");
        _layerLatency = _meter.CreateHistogram<double>("daprllm.safety.layer.duration", unit: "ms", description: "Time per moderation layer");
        _eventsDropped = _meter.CreateCounter<long>("daprllm.safety.decision_events.dropped", description: "moderation.decided events the outbox could not store (reason not_stored); stored events are retried until published");
    }

    public static ActivitySource Source { get; } = new(SourceName);

    public static Activity? StartGuardrail(string direction, string tenant)
    {
        var activity = Source.StartActivity($"apply_guardrail {GuardrailName}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "apply_guardrail");
        activity?.SetTag("gen_ai.guardian.name", GuardrailName);
        activity?.SetTag("gen_ai.security.target.type", direction == "input" ? "llm_input" : "llm_output");
        activity?.SetTag("daprllm.tenant", tenant);
        return activity;
    }

    public void Record(Activity? activity, SafetyAssessment assessment, string direction, string tenant, bool cached, double totalMs)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        if (activity is not null)
        {
            // OTel's decision vocabulary: allow / deny / audit (we use audit for "sent to human review").
            activity.SetTag("gen_ai.security.decision.type", assessment.Decision switch { "block" => "deny", "review" => "audit", _ => "allow" });
            activity.SetTag("gen_ai.security.decision.reason", string.Join(';', assessment.Reasons));
            activity.SetTag("gen_ai.security.policy.version", assessment.PolicyVersion);
            // No content hash: an unsalted SHA-256 of a short input (a name, a phone number) is brute-forced offline.
            activity.SetTag("daprllm.safety.cached", cached);
            if (assessment.Scores.Count > 0)
            {
                var top = assessment.TopCategory ?? assessment.Scores.MaxBy(s => s.Value).Key;
                activity.SetTag("gen_ai.security.risk.category", top);
                activity.SetTag("gen_ai.security.risk.score", assessment.Scores.GetValueOrDefault(top));
            }
        }

        var tags = new TagList { { "action", assessment.Decision }, { "direction", direction }, { "tenant", tenant } };
        _decisions.Add(1, tags);
        foreach (var (category, decision) in assessment.CategoryDecisions)
        {
            if (decision != "allow")
            {
                _categoryFlags.Add(1, new TagList { { "category", category }, { "action", decision }, { "direction", direction }, { "tenant", tenant } });
            }
        }

        if (!cached)
        {
            _layerLatency.Record(assessment.RuleMicroseconds / 1000, new TagList { { "layer", "rules" } });
            _layerLatency.Record(assessment.ModelMicroseconds / 1000, new TagList { { "layer", "model" } });
        }

        _layerLatency.Record(totalMs, new TagList { { "layer", "total" }, { "cached", cached } });
    }

    public void DecisionEventDropped(string reason) => _eventsDropped.Add(1, new TagList { { "reason", reason } });

    public void Dispose() => _meter.Dispose();
}
