using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Every /v1 and /v2 route needs <c>Authorization: Bearer &lt;key&gt;</c> (an API key, or a JWT of an enterprise tenant
/// when <see cref="JwtOptions.Enabled"/>); otherwise 401 invalid_api_key. A valid JWT of a tenant whose tier may not
/// use tokens is 403 permission_error: the caller is known, the way in is not allowed.
/// </summary>
public sealed class ApiKeyFilter(ApiKeyAuthenticator authenticator, JwtAuthenticator jwt) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return OpenAiError.Result(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key",
                "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'.");
        }

        var token = header["Bearer ".Length..].Trim();
        Caller? caller;
        if (jwt.Enabled && JwtAuthenticator.LooksLikeJwt(token))
        {
            var outcome = await jwt.AuthenticateAsync(token, http.RequestAborted);
            if (outcome.Forbidden is { } reason)
            {
                return OpenAiError.Result(StatusCodes.Status403Forbidden, "permission_error", "permission_error", reason);
            }

            caller = outcome.Caller;
        }
        else
        {
            caller = await authenticator.AuthenticateAsync(token, http.RequestAborted);
        }

        if (caller is null)
        {
            return OpenAiError.Result(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key",
                "Incorrect API key provided.");
        }

        http.SetCaller(caller);
        return await next(context);
    }
}
