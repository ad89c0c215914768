using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Caching;

/// <summary>Semantic cache settings (section "SemanticCache"), validated at start.</summary>
public sealed class SemanticCacheOptions
{
    public const string Section = "SemanticCache";

    public bool Enabled { get; set; } = true;

    /// <summary>Embedding model of the inference catalog used to embed prompts (called in the tenant's regions only).</summary>
    [Required]
    public string EmbeddingModel { get; set; } = "all-minilm-l6-v2";

    /// <summary>Cosine similarity at or above which a cached answer is served for a different prompt.</summary>
    [Range(0.5, 1.0)]
    public double Threshold { get; set; } = 0.95;

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Longer prompts are not cached semantically: small embedding models truncate long inputs, so two
    /// long prompts that differ only at the end would look identical.</summary>
    [Range(16, 100_000)]
    public int MaxPromptChars { get; set; } = 1_000;

    [Range(1, 10_000_000)]
    public int MaxEntriesPerPartition { get; set; } = 100_000;

    [Range(1, 10_000_000)]
    public int MaxEntries { get; set; } = 200_000;

    /// <summary>Entries the binary prefilter keeps for exact reranking.</summary>
    [Range(1, 1_024)]
    public int Candidates { get; set; } = 16;
}
