using System.Diagnostics;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.OpenAi;
using CacheResults = DaprLlm.Contracts.Events.RequestReceivedV1.CacheResults;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Audits a request served outside the generation pipeline (embeddings, moderations): request.received once it is
/// admitted and request.completed when it ends, so a compliance report's request counts and key usage include them.
/// A refusal at admission is <see cref="RefusalAudit"/>'s.
/// </summary>
public sealed class RequestAudit(AuditPublisher audit, TimeProvider time)
{
    public void Received(HttpContext context, Caller caller, string model, string? user, string? region, string? requestedModel = null) =>
        audit.Enqueue(new RequestReceivedV1(RequestIdFilter.Get(context), caller.TenantId, caller.KeyId, user, requestedModel ?? model, model, region, CacheResults.Bypass,
            false, Chat.ChatCompletionsApi.ApiVersionOf(context), time.GetUtcNow(), Activity.Current?.TraceId.ToString()));

    public void Completed(HttpContext context, Caller caller, string model, string? user, string outcome, int promptTokens,
        string? region = null, string? route = null, string? errorCode = null) =>
        audit.Enqueue(new RequestCompletedV1(RequestIdFilter.Get(context), model, outcome, null, promptTokens, 0, null, null, Activity.Current?.TraceId.ToString(),
            time.GetUtcNow(), caller.TenantId, region, caller.KeyId, user, Cache: CacheResults.Bypass, Route: route, ErrorCode: errorCode));
}
