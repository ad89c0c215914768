using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// The admin API's request body. Omitted parts keep the default policy's values: a tenant that only tightens
/// violence sends only that category.
/// </summary>
public sealed record PolicyUpdate(
    IReadOnlyDictionary<string, CategoryThresholds>? Categories = null,
    string? PiiAction = null,
    IReadOnlyList<string>? DenyTerms = null,
    IReadOnlyList<string>? AllowTerms = null);
