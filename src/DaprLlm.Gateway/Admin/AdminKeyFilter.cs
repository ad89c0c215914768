using System.Security.Cryptography;
using System.Text;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Admin;

/// <summary>/admin routes need the admin key from the secret store (<c>gateway-admin-key</c>), compared in fixed time.</summary>
public sealed class AdminKeyFilter(GatewaySecrets secrets) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
        var expected = (await secrets.GetAsync(context.HttpContext.RequestAborted)).AdminKey;
        var ok = CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
        return ok
            ? await next(context)
            : OpenAiError.Result(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key", "A valid admin key is required.");
    }
}
