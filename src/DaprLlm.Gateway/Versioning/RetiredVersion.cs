using System.Globalization;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Versioning;

/// <summary>A version switched off after its sunset: 410 Gone on every route, saying which version to use.</summary>
public static class RetiredVersion
{
    public static void MapRetiredVersion(this WebApplication app, string version, ApiVersionPolicy policy, string newest)
    {
        var since = policy.SunsetAt is { } sunset ? $" on {sunset.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}" : "";
        var message = $"API version {version} was retired{since}. Use /{newest} instead.";
        app.Map($"/{version}/{{**path}}", () => OpenAiError.Result(StatusCodes.Status410Gone, "invalid_request_error", "api_version_retired", message))
            .ExcludeFromDescription();
    }
}
