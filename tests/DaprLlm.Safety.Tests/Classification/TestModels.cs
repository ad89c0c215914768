using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Tests.Classification;

/// <summary>Tiny in-memory models whose scores are known in advance, and the path of the shipped model.</summary>
internal static class TestModels
{
    public static string ShippedManifest => Path.Combine(AppContext.BaseDirectory, "models", "safety", "safety-model.json");

    /// <summary>The committed evaluation sets (models/safety/eval), copied beside the test binaries.</summary>
    public static string EvaluationSets => Path.Combine(AppContext.BaseDirectory, "models", "safety", "eval");

    /// <summary>A model whose heads ignore the text: each category scores sigmoid(bias) exactly.</summary>
    public static LinearSafetyModel Constant(IReadOnlyDictionary<string, double> probabilities, SafetyPolicy? policy = null)
    {
        var heads = probabilities.Select(p => new HeadManifest(p.Key, Math.Log(p.Value / (1 - p.Value)), 1, 0, 1)).ToList();
        var manifest = new SafetyModelManifest("test", "1", 10, 256, "none", heads, [],
            policy ?? new SafetyPolicy("test-v1", probabilities.Keys.ToDictionary(k => k, _ => new CategoryThresholds(0.3, 0.8))));
        return new LinearSafetyModel(manifest, [.. heads.Select(_ => new float[1 << 10])]);
    }
}
