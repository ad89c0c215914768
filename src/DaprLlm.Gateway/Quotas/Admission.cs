using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Auth;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Admission shared by the endpoints: reserve, write the x-ratelimit-* headers, or answer 429 and audit the refusal.</summary>
public static class Admission
{
    public static async ValueTask<(QuotaTicket? Ticket, IResult? Refusal)> AdmitAsync(HttpContext context, QuotaService quotas, long tokens, TimeProvider time,
        RefusalAudit audit, string requestedModel, string model, string? user)
    {
        var caller = context.GetCaller();
        var decision = await quotas.AdmitAsync(caller, tokens, context.RequestAborted);
        RateLimitHeaders.Write(context.Response, decision.KeyLease, time);
        if (decision.Ticket is { } ticket)
        {
            return (ticket, null);
        }

        audit.Refused(context, caller, requestedModel, model, user, RequestCompletedV1.Outcomes.RefusedQuota, decision.Refusal!.RefusalCode ?? "rate_limit_exceeded");
        return (null, RateLimitHeaders.Refusal(context.Response, decision.Refusal));
    }
}
