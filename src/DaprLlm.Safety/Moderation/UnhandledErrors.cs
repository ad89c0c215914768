using Dapr;
using Microsoft.AspNetCore.Diagnostics;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// The last resort for an exception no route handled: an OpenAI-style JSON error instead of an empty 500 (or, in
/// Development, a stack trace). A sidecar or state store that did not answer is 503 with Retry-After: the caller may
/// retry; anything else is 500. The exception is logged by the handler middleware.
/// </summary>
public static class UnhandledErrors
{
    public static WebApplication UseJsonErrors(this WebApplication app)
    {
        app.UseExceptionHandler(errors => errors.Run(async context =>
        {
            var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var unavailable = exception is DaprException or Grpc.Core.RpcException or HttpRequestException or TimeoutException;
            context.Response.StatusCode = unavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
            if (unavailable)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            await context.Response.WriteAsJsonAsync(new ErrorBody(unavailable
                ? new ErrorDetail("a dependency of the safety service (its sidecar or state store) did not answer; retry later", "service_unavailable", null, "dependency_unavailable")
                : new ErrorDetail("the safety service failed to handle the request", "server_error", null, "internal_error")));
        }));
        return app;
    }
}
