using System.Collections.Concurrent;
using System.Text.Json;

namespace DaprLlm.Outbox.Tests.Infrastructure;

/// <summary>
/// A sink that records every call (topic, the CloudEvents sent). <see cref="Refuse"/> decides per call which messages
/// the "broker" refuses; <see cref="Throw"/> makes a call fail as a dead sidecar would.
/// </summary>
public sealed class RecordingSink : IOutboxSink
{
    public ConcurrentQueue<(string Topic, List<OutboxMessage> Messages)> Calls { get; } = new();

    public Func<int, IReadOnlyList<OutboxMessage>, IReadOnlyList<OutboxMessage>> Refuse { get; set; } = (_, _) => [];

    public Func<int, bool> Throw { get; set; } = _ => false;

    /// <summary>Per topic and call: the exception the sidecar answers with (a 403 for an unscoped topic), or null.</summary>
    public Func<string, int, Exception?> Fail { get; set; } = (_, _) => null;

    private int _calls;

    public Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        Calls.Enqueue((topic, messages.ToList()));
        if (Throw(call))
        {
            throw new HttpRequestException("the sidecar is not reachable");
        }

        if (Fail(topic, call) is { } failure)
        {
            throw failure;
        }

        return Task.FromResult(Refuse(call, messages));
    }

    /// <summary>Every CloudEvent id sent, in order, retries included.</summary>
    public List<string> SentIds => Calls.SelectMany(c => c.Messages).Select(m => Id(m.CloudEvent)).ToList();

    public static string Id(byte[] cloudEvent)
    {
        using var document = JsonDocument.Parse(cloudEvent);
        return document.RootElement.GetProperty("id").GetString()!;
    }
}
