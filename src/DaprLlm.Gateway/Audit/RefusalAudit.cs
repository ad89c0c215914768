using System.Diagnostics;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.OpenAi;
using CacheResults = DaprLlm.Contracts.Events.RequestReceivedV1.CacheResults;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Audits a request refused before anything was generated (quota, rate limit, load shedding): request.received and
/// request.completed with the refusal's outcome and OpenAI error code, like the refusals of the safety checks, so a
/// compliance report counts every answered request.
/// </summary>
public sealed class RefusalAudit(AuditPublisher audit, TimeProvider time)
{
    public void Refused(HttpContext context, Caller caller, string requestedModel, string model, string? user, string outcome, string errorCode)
    {
        var requestId = RequestIdFilter.Get(context);
        var traceId = Activity.Current?.TraceId.ToString();
        var now = time.GetUtcNow();
        audit.Enqueue(new RequestReceivedV1(requestId, caller.TenantId, caller.KeyId, user, requestedModel, model, null, CacheResults.Bypass,
            false, Chat.ChatCompletionsApi.ApiVersionOf(context), now, traceId));
        audit.Enqueue(new RequestCompletedV1(requestId, model, outcome, null, 0, 0, null, null, traceId, now, caller.TenantId, null, caller.KeyId, user,
            Cache: CacheResults.Bypass, ErrorCode: errorCode));
    }
}
