using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// The admin API's request body. Omitted parts keep the tenant's current values (the default policy's for a tenant
/// without one): a tenant that only tightens violence sends only that category, and a later update of piiAction
/// keeps it. Given lists (terms, patterns) replace the current ones. <c>patterns</c> maps rule names to tenant regexes (a match blocks).
/// </summary>
public sealed record PolicyUpdate(
    IReadOnlyDictionary<string, CategoryThresholds>? Categories = null,
    string? PiiAction = null,
    IReadOnlyList<string>? DenyTerms = null,
    IReadOnlyList<string>? AllowTerms = null,
    IReadOnlyDictionary<string, string>? Patterns = null);
