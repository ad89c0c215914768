using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Versioning;

/// <summary>
/// API versions served side by side (section "ApiVersions"); each may carry deprecation dates, and a version past its
/// sunset is retired by setting <c>Retired</c> (configuration can add to the defaults but not remove from them).
/// </summary>
public sealed class ApiVersionOptions : IValidatableObject
{
    public const string Section = "ApiVersions";

    public Dictionary<string, ApiVersionPolicy> Versions { get; set; } = new()
    {
        ["v1"] = new(),
        ["v2"] = new(),
    };

    /// <summary>The newest version still served (by number), which a retired version's 410 points to.</summary>
    public string Newest => Versions.Where(v => !v.Value.Retired).Select(v => v.Key)
        .OrderByDescending(v => int.TryParse(v.AsSpan(1), out var n) ? n : -1).First();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Versions.Values.All(v => v.Retired))
        {
            yield return new ValidationResult("ApiVersions:Versions must include a version that is not retired");
        }

        foreach (var (name, policy) in Versions)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^v[0-9]+$"))
            {
                yield return new ValidationResult($"ApiVersions:Versions:{name}: a version is named v<number>");
            }

            if (policy.SunsetAt is { } sunset && policy.DeprecatedAt is { } deprecated && sunset < deprecated)
            {
                yield return new ValidationResult($"ApiVersions:Versions:{name}: SunsetAt is before DeprecatedAt");
            }
        }
    }
}

/// <summary>Dates of one version: from DeprecatedAt it answers with Deprecation (and Sunset when set).</summary>
public sealed class ApiVersionPolicy
{
    public DateTimeOffset? DeprecatedAt { get; set; }

    public DateTimeOffset? SunsetAt { get; set; }

    /// <summary>Switched off after its sunset: every route answers 410 naming the version to use instead.</summary>
    public bool Retired { get; set; }
}
