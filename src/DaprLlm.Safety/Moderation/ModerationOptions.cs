using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Safety.Moderation;

/// <summary>Configuration section "Moderation": where the model is and how much the app caches.</summary>
public sealed class ModerationOptions
{
    public const string Section = "Moderation";

    /// <summary>The trained model's manifest; relative paths are resolved against the app's base directory.</summary>
    [Required]
    public string ModelPath { get; set; } = "models/safety/safety-model.json";

    /// <summary>Verdicts kept in memory, keyed by content hash and policy version.</summary>
    [Range(0, 1_000_000)]
    public int VerdictCacheEntries { get; set; } = 10_000;

    /// <summary>How long a tenant's policy is used before it is read from the state store again.</summary>
    [Range(0, 3600)]
    public int PolicyRefreshSeconds { get; set; } = 5;

    /// <summary>Texts longer than this are refused as bad input rather than moderated partially.</summary>
    [Range(1, 10_000_000)]
    public int MaxTextChars { get; set; } = 200_000;

    public string ResolvedModelPath => Path.IsPathRooted(ModelPath) ? ModelPath : Path.Combine(AppContext.BaseDirectory, ModelPath);
}
