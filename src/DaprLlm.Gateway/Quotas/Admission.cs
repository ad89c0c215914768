using DaprLlm.Gateway.Auth;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Admission shared by the endpoints: reserve, write the x-ratelimit-* headers, or answer 429.</summary>
public static class Admission
{
    public static async ValueTask<(QuotaTicket? Ticket, IResult? Refusal)> AdmitAsync(HttpContext context, QuotaService quotas, long tokens, TimeProvider time)
    {
        var decision = await quotas.AdmitAsync(context.GetCaller(), tokens, context.RequestAborted);
        RateLimitHeaders.Write(context.Response, decision.KeyLease, time);
        return decision.Ticket is { } ticket ? (ticket, null) : (null, RateLimitHeaders.Refusal(context.Response, decision.Refusal!));
    }
}
