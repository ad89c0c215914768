using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification;

/// <summary>
/// The one decision path for a text: rule layer, ML layer, then confidence routing under a policy. The safety
/// app, the evaluation tool and the CI floors test all call this class, so what is measured is what is served.
/// </summary>
public sealed class SafetyEngine
{
    private const int MaxCachedRuleEngines = 256;
    private readonly ConcurrentDictionary<string, RuleEngine> _ruleEngines = new(StringComparer.Ordinal);

    /// <param name="embeddings">
    /// Where the ML layer's vectors come from when not from the model's own in-process embedder (the inference
    /// service); then only <see cref="EvaluateAsync"/> can score.
    /// </param>
    public SafetyEngine(LinearSafetyModel model, IEmbeddingSource? embeddings = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _embeddings = embeddings;
    }

    private readonly IEmbeddingSource? _embeddings;

    public LinearSafetyModel Model { get; }

    /// <summary>The policy shipped with the model (thresholds chosen on cross-validated predictions).</summary>
    public SafetyPolicy DefaultPolicy => Model.Manifest.DefaultPolicy;

    /// <param name="embeddings">null: the model embeds in process; else the vectors come from this source and the model loads no embedder.</param>
    public static SafetyEngine Load(string manifestPath, IEmbeddingSource? embeddings = null) =>
        new(LinearSafetyModel.Load(manifestPath, embedInProcess: embeddings is null), embeddings);

    /// <summary>
    /// <see cref="Evaluate"/> with the embedding from the engine's source when it has one (awaited, so no thread waits
    /// on the network); throws <see cref="EmbeddingsUnavailableException"/> when the source fails. The service calls this.
    /// A long text is scored in windows on every path (<see cref="LinearSafetyModel.Windows"/>), so all three agree.
    /// </summary>
    public async ValueTask<SafetyAssessment> EvaluateAsync(string text, ModerationDirection direction, SafetyPolicy? policy, CancellationToken cancellationToken)
    {
        if (_embeddings is null || !Model.NeedsEmbedding)
        {
            return Evaluate(text, direction, policy);
        }

        ArgumentNullException.ThrowIfNull(text);
        policy ??= DefaultPolicy;
        var started = Stopwatch.GetTimestamp();
        var rules = RulesFor(policy).Evaluate(text);
        var afterRules = Stopwatch.GetTimestamp();
        // A long text's windows in one call where the source can batch (the inference service takes a list).
        var vectors = await _embeddings.EmbedManyAsync(Model.EmbeddingInputs(text), cancellationToken);
        var scores = Model.ScoreWithEmbeddings(text, vectors);
        var afterModel = Stopwatch.GetTimestamp();

        var (decision, categoryDecisions, top, reasons) = Route(scores, rules, direction, policy);
        return new SafetyAssessment(decision, scores, categoryDecisions, top, reasons, rules, policy.Version,
            Stopwatch.GetElapsedTime(started, afterRules).TotalMicroseconds, Stopwatch.GetElapsedTime(afterRules, afterModel).TotalMicroseconds);
    }

    public SafetyAssessment Evaluate(string text, ModerationDirection direction, SafetyPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        policy ??= DefaultPolicy;

        var started = Stopwatch.GetTimestamp();
        var rules = RulesFor(policy).Evaluate(text);
        var afterRules = Stopwatch.GetTimestamp();
        var scores = Model.Score(text);
        var afterModel = Stopwatch.GetTimestamp();

        var (decision, categoryDecisions, top, reasons) = Route(scores, rules, direction, policy);
        return new SafetyAssessment(decision, scores, categoryDecisions, top, reasons, rules, policy.Version,
            Stopwatch.GetElapsedTime(started, afterRules).TotalMicroseconds, Stopwatch.GetElapsedTime(afterRules, afterModel).TotalMicroseconds);
    }

    /// <summary>The same decisions as <see cref="Evaluate"/> for many texts, with batched embeddings (evaluation, bulk checks).</summary>
    public IReadOnlyList<SafetyAssessment> EvaluateBatch(IReadOnlyList<string> texts, ModerationDirection direction, SafetyPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        policy ??= DefaultPolicy;
        var ruleEngine = RulesFor(policy);
        var started = Stopwatch.GetTimestamp();
        var rules = texts.Select(ruleEngine.Evaluate).ToArray();
        var afterRules = Stopwatch.GetTimestamp();
        var scores = Model.ScoreBatch(texts);
        var afterModel = Stopwatch.GetTimestamp();
        var ruleMicroseconds = Stopwatch.GetElapsedTime(started, afterRules).TotalMicroseconds / Math.Max(1, texts.Count);
        var modelMicroseconds = Stopwatch.GetElapsedTime(afterRules, afterModel).TotalMicroseconds / Math.Max(1, texts.Count);
        return [.. texts.Select((_, i) =>
        {
            var (decision, categoryDecisions, top, reasons) = Route(scores[i], rules[i], direction, policy);
            return new SafetyAssessment(decision, scores[i], categoryDecisions, top, reasons, rules[i], policy.Version, ruleMicroseconds, modelMicroseconds);
        })];
    }

    /// <summary>
    /// Confidence routing: combines the jailbreak score with the injection heuristics, drops input-only categories
    /// for output, then applies the policy's thresholds, rule hits and PII action. Public so the training tool
    /// routes out-of-fold scores exactly as the service does.
    /// </summary>
    public static (string Decision, Dictionary<string, string> CategoryDecisions, string? TopCategory, List<string> Reasons) Route(
        Dictionary<string, double> scores, RuleVerdict rules, ModerationDirection direction, SafetyPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(policy);
        if (direction == ModerationDirection.Input)
        {
            // The heuristics catch phrasings the model has not seen; the model catches the ones without a phrase.
            scores[SafetyCategories.Jailbreak] = Math.Max(scores.GetValueOrDefault(SafetyCategories.Jailbreak), rules.InjectionScore);
        }
        else
        {
            foreach (var category in scores.Keys.Where(c => !SafetyCategories.AppliesToOutput(c)).ToList())
            {
                scores.Remove(category);
            }
        }

        var decision = Decisions.Allow;
        var reasons = new List<string>();
        var categoryDecisions = new Dictionary<string, string>(StringComparer.Ordinal);
        string? top = null;
        var topRatio = 1.0;
        foreach (var (category, score) in scores)
        {
            if (!policy.Categories.TryGetValue(category, out var thresholds))
            {
                continue;
            }

            var categoryDecision = score >= thresholds.Block ? Decisions.Block : score >= thresholds.Allow ? Decisions.Review : Decisions.Allow;
            categoryDecisions[category] = categoryDecision;
            if (categoryDecision == Decisions.Allow)
            {
                continue;
            }

            decision = Decisions.Worst(decision, categoryDecision);
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"category:{category}={score:0.###}"));
            var ratio = score / Math.Max(thresholds.Allow, 1e-6);
            if (top is null || ratio > topRatio)
            {
                (top, topRatio) = (category, ratio);
            }
        }

        foreach (var hit in rules.Hits)
        {
            // Injection hits already raised the jailbreak score; terms, tenant patterns and timeouts refuse outright.
            if (hit.Kind == RuleKind.Injection)
            {
                continue;
            }

            decision = Decisions.Block;
            reasons.Add(hit.Kind switch
            {
                RuleKind.DenyTerm => $"deny-term:{hit.Name}",
                RuleKind.RegexTimeout => $"regex-timeout:{hit.Name}",
                _ => $"regex:{hit.Name}",
            });
        }

        if (rules.Pii.Count > 0 && policy.PiiAction != Decisions.Allow)
        {
            decision = Decisions.Worst(decision, policy.PiiAction);
            reasons.Add("pii:" + string.Join(',', rules.Pii.Select(p => p.EntityType).Distinct()));
        }

        return (decision, categoryDecisions, top, reasons);
    }

    // Term automata and tenant patterns are compiled once per policy version, not per request.
    public RuleEngine RulesFor(SafetyPolicy policy)
    {
        if (_ruleEngines.TryGetValue(policy.Version, out var cached))
        {
            return cached;
        }

        if (_ruleEngines.Count >= MaxCachedRuleEngines)
        {
            _ruleEngines.Clear();
        }

        return _ruleEngines.GetOrAdd(policy.Version, _ => new RuleEngine(new RuleSet
        {
            DenyTerms = policy.DenyTerms ?? [],
            AllowTerms = policy.AllowTerms ?? [],
            RegexRules = policy.RegexRules(),
        }));
    }
}
