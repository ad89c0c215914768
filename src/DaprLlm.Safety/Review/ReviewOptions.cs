using System.ComponentModel.DataAnnotations;
using DaprLlm.Safety.Review.Accounts;

namespace DaprLlm.Safety.Review;

/// <summary>Human-review settings (section "Review"), validated at start.</summary>
public sealed class ReviewOptions
{
    public const string Section = "Review";

    /// <summary>How long each queue (standard, then senior) has to decide, by severity (low, medium, high, critical).</summary>
    [Required]
    public Dictionary<string, TimeSpan> SlaBySeverity { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["low"] = TimeSpan.FromHours(4),
        ["medium"] = TimeSpan.FromHours(1),
        ["high"] = TimeSpan.FromMinutes(15),
        ["critical"] = TimeSpan.FromMinutes(5),
    };

    /// <summary>Categories that fail closed: when nobody decides, an item scoring at least <see cref="FailClosedScore"/> in one of them is blocked.
    /// Empty means <see cref="DefaultFailClosedCategories"/>: the configuration binder appends to a list's initial items, so a
    /// non-empty default could never be narrowed by configuration.</summary>
    public List<string> FailClosedCategories { get; set; } = [];

    public static readonly IReadOnlyList<string> DefaultFailClosedCategories =
    [
        "sexual/minors", "hate/threatening", "harassment/threatening", "self-harm/intent", "self-harm/instructions",
        "violence/graphic", "illicit/violent", "jailbreak",
    ];

    [Range(0.0, 1.0)]
    public double FailClosedScore { get; set; } = 0.3;

    /// <summary>Severities that fail closed whatever the categories; empty means <see cref="DefaultFailClosedSeverities"/> (see above).</summary>
    public List<string> FailClosedSeverities { get; set; } = [];

    public static readonly IReadOnlyList<string> DefaultFailClosedSeverities = ["high", "critical"];

    /// <summary>A category score at or above this makes the model's own suggestion "block" (for agreement statistics).</summary>
    [Range(0.0, 1.0)]
    public double ModelBlockScore { get; set; } = 0.5;

    /// <summary>How long a claim locks an item for the reviewer who took it.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Dapr output binding (e.g. bindings.http) that receives each decision for the client; none when empty.</summary>
    public string? WebhookBinding { get; set; }

    /// <summary>How many decided items the statistics and the feedback export keep.</summary>
    [Range(10, 1_000_000)]
    public int ClosedHistory { get; set; } = 5000;

    /// <summary>Reviewer accounts seeded from configuration.</summary>
    public List<ReviewerAccountOptions> Accounts { get; set; } = [];

    /// <summary>OpenID Connect sign-in for production; cookie sign-in with the seeded accounts when absent.</summary>
    public ReviewOidcOptions? Oidc { get; set; }

    /// <summary>The fail-closed categories in force: the configured ones, or the defaults when none are configured.</summary>
    public IReadOnlyList<string> EffectiveFailClosedCategories =>
        FailClosedCategories.Count > 0 ? FailClosedCategories : DefaultFailClosedCategories;

    /// <summary>The fail-closed severities in force: the configured ones, or the defaults when none are configured.</summary>
    public IReadOnlyList<string> EffectiveFailClosedSeverities =>
        FailClosedSeverities.Count > 0 ? FailClosedSeverities : DefaultFailClosedSeverities;

    public TimeSpan SlaFor(string severity) =>
        SlaBySeverity.TryGetValue(severity, out var sla) ? sla : SlaBySeverity.Values.Min();
}
