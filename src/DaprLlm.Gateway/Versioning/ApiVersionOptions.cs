using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Versioning;

/// <summary>API versions served side by side (section "ApiVersions"); each may carry deprecation dates.</summary>
public sealed class ApiVersionOptions : IValidatableObject
{
    public const string Section = "ApiVersions";

    public Dictionary<string, ApiVersionPolicy> Versions { get; set; } = new()
    {
        ["v1"] = new(),
        ["v2"] = new(),
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Versions.ContainsKey("v1"))
        {
            yield return new ValidationResult("ApiVersions:Versions must include v1");
        }

        foreach (var (name, policy) in Versions)
        {
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
}
