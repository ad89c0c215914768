using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;
using DaprLlm.Outbox;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Review;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Moderation;

/// <summary>Input and output moderation, called by the gateway through Dapr service invocation.</summary>
public static class ModerationApi
{
    public static WebApplicationBuilder AddModeration(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModerationOptions>().BindConfiguration(ModerationOptions.Section).ValidateDataAnnotations()
            .Validate(o => File.Exists(o.ResolvedModelPath), "Moderation:ModelPath must name the trained model's manifest (models/safety/safety-model.json)")
            .ValidateOnStart();
        builder.Services.AddDaprClient();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOptions<ModerationEmbeddingsOptions>().BindConfiguration(ModerationEmbeddingsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => InferenceEmbeddings.Create(
            sp.GetRequiredService<IOptions<ModerationEmbeddingsOptions>>().Value, sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton(sp =>
        {
            // The service path loads no embedder here: the vectors come from the inference catalog's copy of the graph.
            var fromService = sp.GetRequiredService<IOptions<ModerationEmbeddingsOptions>>().Value.Source == EmbeddingSource.InferenceService;
            return SafetyEngine.Load(sp.GetRequiredService<IOptions<ModerationOptions>>().Value.ResolvedModelPath,
                fromService ? sp.GetRequiredService<ServiceEmbeddingSource>() : null);
        });
        builder.Services.AddSingleton(sp => new VerdictCache(sp.GetRequiredService<IOptions<ModerationOptions>>().Value.VerdictCacheEntries));
        builder.Services.AddSingleton<SafetyTelemetry>();
        builder.AddDurableOutbox(AppIds.Safety, DaprComponents.PubSub, o => o.WhenFull = OutboxFullMode.Keep);
        builder.Services.AddSingleton<DecisionEventPublisher>();
        builder.Services.AddSingleton<ModerationService>();
        return builder;
    }

    public static WebApplication MapModerationApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.ModerateInput, (HttpRequest r, ModerationService s, IOptions<ModerationOptions> o, CancellationToken ct) =>
            Moderate(r, ModerationDirection.Input, escalate: true, s, o.Value, ct));
        app.MapPost("/" + ServiceMethods.ModerateOutput, (HttpRequest r, ModerationService s, IOptions<ModerationOptions> o, CancellationToken ct) =>
            Moderate(r, ModerationDirection.Output, escalate: true, s, o.Value, ct));
        app.MapPost("/" + ServiceMethods.ModerateOutputWindow, (HttpRequest r, ModerationService s, IOptions<ModerationOptions> o, CancellationToken ct) =>
            Moderate(r, ModerationDirection.Output, escalate: false, s, o.Value, ct));
        return app;
    }

    /// <summary>Tenant ids become part of state keys and metric tags: keep them short and plain.</summary>
    public static bool IsValidTenant(string? tenant) =>
        tenant is null || (tenant.Length is > 0 and <= 64 && tenant.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));

    /// <summary>The conversation is only stored with a review item: bounded like the text, every message with a role.</summary>
    private static string? ConversationProblem(IReadOnlyList<ChatMessage>? messages, int maxChars)
    {
        if (messages is null)
        {
            return null;
        }

        if (messages.Count > MaxConversationMessages)
        {
            return $"messages may hold at most {MaxConversationMessages} messages";
        }

        long chars = 0;
        foreach (var message in messages)
        {
            if (message is null || string.IsNullOrEmpty(message.Role) || message.Content is null)
            {
                return "every message needs a role and a content";
            }

            chars += message.Content.Length;
        }

        return chars > maxChars ? $"messages are longer than {maxChars} characters in all" : null;
    }

    private const int MaxConversationMessages = DaprLlm.Contracts.Safety.ModerationLimits.MaxConversationMessages;

    private static async Task<Results<Ok<ModerationVerdict>, JsonHttpResult<ErrorBody>>> Moderate(
        HttpRequest http, ModerationDirection direction, bool escalate, ModerationService service, ModerationOptions options, CancellationToken cancellationToken)
    {
        var (request, malformed) = await JsonRequestBody.ReadAsync<ModerationRequest>(http, cancellationToken);
        if (malformed is not null)
        {
            return malformed;
        }

        if (request?.Text is null)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "text is required", "invalid_request_error", "text");
        }

        if (request.Text.Length > options.MaxTextChars)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, $"text is longer than {options.MaxTextChars} characters", "invalid_request_error", "text");
        }

        if (!IsValidTenant(request.TenantId))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "tenantId must be 1-64 letters, digits, '-' or '_'", "invalid_request_error", "tenantId");
        }

        if (request.Region is not null && !IsValidTenant(request.Region))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "region must be 1-64 letters, digits, '-' or '_'", "invalid_request_error", "region");
        }

        if (ConversationProblem(request.Messages, options.MaxTextChars) is { } problem)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, problem, "invalid_request_error", "messages");
        }

        try
        {
            // A caller that names no request still gets a check of its own: a review is keyed by the request id.
            var requestId = string.IsNullOrEmpty(request.RequestId) ? "mod-" + Guid.NewGuid().ToString("N") : request.RequestId;
            var (verdict, _) = await service.CheckAsync(
                requestId, request.Text, direction, request.TenantId, escalate, request.Region, cancellationToken, request.Messages);
            return TypedResults.Ok(verdict);
        }
        catch (EmbeddingsUnavailableException)
        {
            return ErrorBody.EmbeddingsUnavailable(http.HttpContext.Response);
        }
    }
}
