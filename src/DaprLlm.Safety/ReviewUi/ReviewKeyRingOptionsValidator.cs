using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.ReviewUi;

/// <summary>Refuses a key-ring folder the app cannot create or write: otherwise the first sign-in would fail, not the start.</summary>
public sealed class ReviewKeyRingOptionsValidator(IHostEnvironment environment) : IValidateOptions<ReviewKeyRingOptions>
{
    public ValidateOptionsResult Validate(string? name, ReviewKeyRingOptions options)
    {
        var directory = options.ResolveDirectory(environment.ContentRootPath);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".write-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ValidateOptionsResult.Fail($"{ReviewKeyRingOptions.Section}:{nameof(ReviewKeyRingOptions.Directory)} '{directory}' cannot hold the reviewer UI's key ring: {e.Message}");
        }
    }
}
