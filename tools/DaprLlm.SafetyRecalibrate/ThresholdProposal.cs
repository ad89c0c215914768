using System.Text.Json.Serialization;

namespace DaprLlm.SafetyRecalibrate;

/// <summary>Precision and recall of "score at or above threshold" against reviewer labels.</summary>
public sealed record OperatingPoint(
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("precision")] double Precision,
    [property: JsonPropertyName("recall")] double Recall,
    [property: JsonPropertyName("flagged_share")] double FlaggedShare);

/// <summary>
/// Proposed thresholds for one category ("any" = the highest score): <c>block</c> is the lowest threshold whose
/// precision reaches the target (refuse without a human); <c>allow</c> the highest whose recall still reaches the
/// target (below it, pass without a human). Between the two is the human-review band. Null when no threshold
/// reaches the target.
/// </summary>
public sealed record ThresholdProposal(
    [property: JsonPropertyName("category")] string Category,
    [property: JsonPropertyName("examples")] int Examples,
    [property: JsonPropertyName("positives")] int Positives,
    [property: JsonPropertyName("block")] OperatingPoint? Block,
    [property: JsonPropertyName("allow")] OperatingPoint? Allow);
