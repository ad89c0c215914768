using System.Text.Json;
using DaprLlm.Gateway.Upstream;
using DaprLlm.Gateway.Errors;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Chat;

/// <summary>POST /v1/chat/completions (OpenAI-compatible).</summary>
public static class ChatCompletionsApi
{
    public static WebApplicationBuilder AddChatCompletions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SafetyClient>();
        builder.Services.AddSingleton<InferenceClient>();
        builder.Services.AddScoped<ChatCompletionPipeline>();
        return builder;
    }

    public static WebApplication MapChatCompletionsApi(this WebApplication app)
    {
        app.MapGroup("/v1").MapPost("/chat/completions", CreateChatCompletion);
        return app;
    }

    private static async Task<IResult> CreateChatCompletion(HttpContext context, ChatCompletionPipeline pipeline, IOptions<ChatOptions> options, ILoggerFactory loggers)
    {
        var requestId = $"chatcmpl-{Guid.NewGuid():N}";
        context.Response.Headers["x-request-id"] = requestId;
        if (context.Request.ContentLength > options.Value.MaxRequestBytes)
        {
            return OpenAiError.Result(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "request_too_large",
                $"request body is larger than {options.Value.MaxRequestBytes} bytes");
        }

        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return OpenAiError.InvalidRequest("We could not parse the JSON body of your request. It must be a JSON object.", code: "invalid_json");
        }

        if (request is null)
        {
            return OpenAiError.InvalidRequest("the request body must be a JSON object", code: "invalid_json");
        }

        if (ChatCompletionValidator.Validate(request, options.Value) is { } invalid)
        {
            return invalid;
        }

        var model = request.Model == "auto" ? options.Value.Models[0] : request.Model!;
        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens ?? options.Value.DefaultMaxTokens;
        try
        {
            var outcome = await pipeline.RunAsync(requestId, request, model, maxTokens, context.RequestAborted);
            return outcome.Response is { } response
                ? TypedResults.Ok(response)
                : OpenAiError.Result(StatusCodes.Status400BadRequest, "invalid_request_error", "content_filter",
                    $"The request was refused by the content policy ({string.Join(", ", outcome.InputRefusal!.Reasons)}).");
        }
        catch (UpstreamException e)
        {
            loggers.CreateLogger(typeof(ChatCompletionsApi)).LogError(e, "Upstream app {AppId} failed for request {RequestId}", e.AppId, requestId);
            return OpenAiError.Result(StatusCodes.Status502BadGateway, "server_error", "upstream_error",
                "A backend service failed to answer. Retry the request; if it persists, contact the operator.");
        }
        catch (Dapr.DaprException e)
        {
            loggers.CreateLogger(typeof(ChatCompletionsApi)).LogError(e, "Dapr call failed for request {RequestId}", requestId);
            return OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", "service_unavailable",
                "The service is temporarily unavailable. Retry the request.");
        }
    }
}
