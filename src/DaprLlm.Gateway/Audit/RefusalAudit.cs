using DaprLlm.Gateway.Auth;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Audits a request refused before anything was generated (quota, rate limit, load shedding): request.received and
/// request.completed with the refusal's outcome and OpenAI error code, like the refusals of the safety checks, so a
/// compliance report counts every answered request.
/// </summary>
public sealed class RefusalAudit(RequestAudit requests)
{
    public void Refused(HttpContext context, Caller caller, string requestedModel, string model, string? user, string outcome, string errorCode)
    {
        requests.Received(context, caller, model, user, region: null, requestedModel);
        requests.Completed(context, caller, model, user, outcome, promptTokens: 0, errorCode: errorCode);
    }
}
