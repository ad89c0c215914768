using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Routing;

/// <summary>Routing settings (section "Routing"), validated at start.</summary>
public sealed class RoutingOptions : IValidatableObject
{
    public const string Section = "Routing";

    /// <summary>Inference app id per region; a tenant's requests go only to the app ids of its allowed regions.</summary>
    public Dictionary<string, string> InferenceByRegion { get; set; } = new() { ["eu"] = "inference", ["us"] = "inference" };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (InferenceByRegion.Count == 0 || InferenceByRegion.Values.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("Routing:InferenceByRegion needs at least one region with an app id");
        }
    }
}
