using System.Text.Json.Nodes;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Moderations;

/// <summary>
/// POST /{version}/moderations is answered by the safety app (its OpenAI-shaped v1/moderations) under the caller's
/// tenant: the body and status are forwarded as they are. It is metered like embeddings (requests per minute and
/// concurrent requests; no tokens, as OpenAI does not charge moderations), since each call costs safety up to 64 checks.
/// </summary>
public static class ModerationsApi
{
    /// <summary>The model OpenAI uses when the request names none.</summary>
    public const string DefaultModel = "omni-moderation-latest";

    // OpenAI's moderations request has these two parameters only.
    private static readonly HashSet<string> Known = ["input", "model"];

    public static RouteGroupBuilder MapModerations(this RouteGroupBuilder api)
    {
        api.MapPost("/moderations", Moderate).Accepts<JsonObject>("application/json");
        return api;
    }

    private static async Task<IResult> Moderate(HttpContext context, SafetyClient safety, QuotaService quotas, Audit.RefusalAudit refusals, Audit.RequestAudit audit,
        IOptions<ChatOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        var (read, error) = await JsonBody.ReadAsync<JsonObject>(context.Request, options.Value.MaxRequestBytes);
        if (error is not null)
        {
            return error;
        }

        var body = read!;
        if (body.Select(p => p.Key).FirstOrDefault(k => !Known.Contains(k)) is { } unknown)
        {
            return OpenAiError.InvalidRequest($"Unrecognized request argument supplied: {unknown}", unknown, "unknown_parameter");
        }

        var model = DefaultModel;
        if (body["model"] is { } named)
        {
            if (named.GetValueKind() != System.Text.Json.JsonValueKind.String)
            {
                return OpenAiError.InvalidRequest("model must be a string", "model", "invalid_type");
            }

            model = named.GetValue<string>();
            if (!options.Value.ModerationModels.Contains(model))
            {
                return ChatCompletionValidator.ModelNotFound(model);
            }
        }

        if (!body.ContainsKey("input"))
        {
            return OpenAiError.InvalidRequest("you must provide an input parameter", "input", "missing_required_parameter");
        }

        var (ticket, refusal) = await Admission.AdmitAsync(context, quotas, 0, time, refusals, model, model, null);
        if (ticket is null)
        {
            return refusal!;
        }

        var caller = context.GetCaller();
        audit.Received(context, caller, model, null, null);
        var request = new HttpRequestMessage(HttpMethod.Post, SafetyClient.ModerationsMethod)
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };

        // The caller's tenant picks the safety policy and owns any review the check opens (GET /v1/reviews/{id}).
        request.Headers.Add(SafetyClient.TenantHeader, caller.TenantId);
        // Safety derives its check and review ids from this: a client retry that sends the same Idempotency-Key finds
        // the reviews its first try opened instead of opening them again.
        request.Headers.Add(CheckIdHeader, CheckId(context));
        try
        {
            var result = await ForwardAsync(context, safety, request, loggers);
            if (result is not null)
            {
                var (outcome, code) = result is IStatusCodeHttpResult { StatusCode: >= 400 }
                    ? (RequestCompletedV1.Outcomes.Failed, OpenAiError.CodeOf(result) ?? "invalid_request")
                    : (RequestCompletedV1.Outcomes.Completed, null);
                audit.Completed(context, caller, model, null, outcome, 0, errorCode: code);
            }

            return result ?? Results.Empty;
        }
        finally
        {
            ticket.Settle(0);
        }
    }

    /// <summary>Safety's answer or the error that replaces it; null when the client went away.</summary>
    private static async Task<IResult?> ForwardAsync(HttpContext context, SafetyClient safety, HttpRequestMessage request, ILoggerFactory loggers)
    {
        try
        {
            using var response = await safety.Http.SendAsync(request, context.RequestAborted);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(context.RequestAborted);

            // Safety's answers are OpenAI-shaped JSON; anything else (a sidecar error page) is not passed on.
            if (status >= 500 || response.Content.Headers.ContentType?.MediaType != "application/json")
            {
                throw new UpstreamException(AppIds.Safety, status, "safety answered a non-JSON or server error", body: text);
            }

            return Results.Content(text, "application/json", System.Text.Encoding.UTF8, status);
        }
        catch (Exception e) when (e is UpstreamException or HttpRequestException
            || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            // A timeout that is not the client's (connecting to the sidecar) is a 504 upstream_timeout, as on chat.
            return UpstreamErrors.ToResult(e is HttpRequestException ? new UpstreamException(AppIds.Safety, null, "safety unreachable", e) : e, context,
                loggers.CreateLogger(typeof(ModerationsApi)));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer, and nothing went wrong on this side.
            return null;
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>The header safety reads its check ids from (<c>modr-&lt;id&gt;[-&lt;i&gt;]</c>).</summary>
    public const string CheckIdHeader = "x-request-id";

    /// <summary><c>idem-&lt;Idempotency-Key&gt;</c> when the client sent a usable one, else this request's id.</summary>
    internal static string CheckId(HttpContext context) =>
        context.Request.Headers["Idempotency-Key"].ToString() is { Length: > 0 and <= 64 } key && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? $"idem-{key}"
            : RequestIdFilter.Get(context);
}
