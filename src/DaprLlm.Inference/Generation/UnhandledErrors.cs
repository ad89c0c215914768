using Microsoft.AspNetCore.Diagnostics;

namespace DaprLlm.Inference.Generation;

/// <summary>
/// The last resort for an exception no route handled: an OpenAI-style JSON 500 instead of an empty one, so the
/// gateway and direct callers read an error object. The exception is logged by the handler middleware.
/// </summary>
public static class UnhandledErrors
{
    public static WebApplication UseJsonErrors(this WebApplication app)
    {
        app.UseExceptionHandler(errors => errors.Run(context =>
            Errors.Result(StatusCodes.Status500InternalServerError, "the inference service failed to handle the request", null, "internal_error")
                .ExecuteAsync(context)));
        return app;
    }
}
