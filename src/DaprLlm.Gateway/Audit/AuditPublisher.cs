using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Outbox;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Audit;

/// <summary>
/// Records audit events (request.received, request.completed, admin.action) without making the client wait: each is
/// serialized and handed to the gateway's durable outbox fire-and-forget (the request never touches SQLite; the outbox's
/// writer commits what is pending every Outbox:CommitWindowMs, see bench/RESULTS.md) and published by the outbox drain
/// in bulk per topic. Once committed, an event survives a crash of the gateway, a dead sidecar and a refusing broker;
/// events accepted in the last commit window before a kill -9 can be lost (a graceful stop commits them). A full outbox
/// (Outbox:MaxRows) or a full hand-off refuses an event, logged and counted.
/// </summary>
public sealed class AuditPublisher(DurableOutbox outbox, IOptions<AuditOptions> options)
{
    private readonly bool _enabled = options.Value.Enabled;

    /// <summary>Events stored and not yet accepted by the sidecar.</summary>
    public long Backlog => outbox.Count;

    public void Enqueue(RequestCompletedV1 completed) => Enqueue(Topics.RequestCompleted, completed);

    public void Enqueue(RequestReceivedV1 received) => Enqueue(Topics.RequestReceived, received);

    public void Enqueue(AdminActionV1 action) => Enqueue(Topics.AdminAction, action);

    private void Enqueue(string topic, object data)
    {
        if (_enabled)
        {
            // A refusal (outbox full or unwritable) is logged and counted by the outbox; the request goes on.
            outbox.Enqueue(topic, data);
        }
    }
}
