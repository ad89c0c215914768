using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Admission shared by the endpoints: reserve, write the x-ratelimit-* headers, or answer 429 and audit the refusal.</summary>
public static partial class Admission
{
    public const string QuotaUnavailableCode = "service_unavailable";

    public static async ValueTask<(QuotaTicket? Ticket, IResult? Refusal)> AdmitAsync(HttpContext context, QuotaService quotas, long tokens, TimeProvider time,
        RefusalAudit audit, string requestedModel, string model, string? user)
    {
        var caller = context.GetCaller();
        QuotaDecision decision;
        try
        {
            decision = await quotas.AdmitAsync(caller, tokens, context.RequestAborted);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            // A quota actor could not be reached (its host starting, moving or overloaded): nothing was admitted.
            // Answer a clear, retryable OpenAI error instead of letting the exception become a bare 500.
            LogQuotaUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Admission)), e.GetType().Name, context.TraceIdentifier);
            audit.Refused(context, caller, requestedModel, model, user, RequestCompletedV1.Outcomes.Failed, QuotaUnavailableCode);
            context.Response.Headers.RetryAfter = "1";
            return (null, OpenAiError.Result(StatusCodes.Status503ServiceUnavailable, "server_error", QuotaUnavailableCode,
                "The rate-limit service is temporarily unavailable. Retry after the time in Retry-After."));
        }

        RateLimitHeaders.Write(context.Response, decision.KeyLease, decision.TenantLease, time);
        if (decision.Ticket is { } ticket)
        {
            return (ticket, null);
        }

        if (decision.TooLarge is { } reason)
        {
            // As OpenAI answers it: a 429 with no Retry-After, since waiting never helps; the message says what to cut.
            audit.Refused(context, caller, requestedModel, model, user, RequestCompletedV1.Outcomes.RefusedQuota, "rate_limit_exceeded");
            return (null, OpenAiError.Result(StatusCodes.Status429TooManyRequests, "tokens", "rate_limit_exceeded", reason));
        }

        audit.Refused(context, caller, requestedModel, model, user, RequestCompletedV1.Outcomes.RefusedQuota, decision.Refusal!.RefusalCode ?? "rate_limit_exceeded");
        return (null, RateLimitHeaders.Refusal(context.Response, decision.Refusal));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Quota admission failed ({Error}) for request {TraceId}; answered 503")]
    private static partial void LogQuotaUnavailable(ILogger logger, string error, string traceId);
}
