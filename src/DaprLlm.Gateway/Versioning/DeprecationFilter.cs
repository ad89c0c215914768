using System.Globalization;

namespace DaprLlm.Gateway.Versioning;

/// <summary>Adds RFC 9745 Deprecation and RFC 8594 Sunset headers once a version is past its deprecation date.</summary>
public sealed class DeprecationFilter(ApiVersionPolicy policy, TimeProvider time) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (policy.DeprecatedAt is { } deprecated && time.GetUtcNow() >= deprecated)
        {
            var headers = context.HttpContext.Response.Headers;
            headers["Deprecation"] = "@" + deprecated.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            if (policy.SunsetAt is { } sunset)
            {
                headers["Sunset"] = sunset.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);
            }
        }

        return next(context);
    }
}
