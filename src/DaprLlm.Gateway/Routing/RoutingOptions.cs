using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Routing;

/// <summary>Routing settings (section "Routing"), validated at start.</summary>
public sealed class RoutingOptions : IValidatableObject
{
    public const string Section = "Routing";

    /// <summary>Inference app id per region; a tenant's requests go only to the app ids of its allowed regions.</summary>
    public Dictionary<string, string> InferenceByRegion { get; set; } = new() { ["eu"] = "inference", ["us"] = "inference" };

    /// <summary>Model to use while a model's breaker is open (same or lower tier), e.g. daprllm-large → daprllm-demo.</summary>
    public Dictionary<string, string> Fallbacks { get; set; } = new();

    [Range(1, 1_000)]
    public int BreakerFailures { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan BreakerOpenFor { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (InferenceByRegion.Count == 0 || InferenceByRegion.Values.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("Routing:InferenceByRegion needs at least one region with an app id");
        }
    }
}
