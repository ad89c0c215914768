using System.Net;
using DaprLlm.Outbox.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Outbox.Tests;

/// <summary>
/// Events the sidecar or broker keeps refusing do not hold back the others: they are retried on their own, moved to the
/// dead-letter table after Outbox:MaxRefusals refusals (kept, never deleted), and a failing sidecar is never mistaken for them.
/// </summary>
public sealed class RefusedEventTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Sample(string RequestId, int Tokens);

    private static HttpRequestException Answer(HttpStatusCode status) => new($"bulk publish answered {(int)status}", null, status);

    [Fact]
    public async Task A_topic_the_sidecar_refuses_does_not_hold_back_the_events_of_other_topics()
    {
        // More refused rows than Publishers x MaxBatch, first in the outbox; a whole-outbox backoff would wait 20 s.
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MaxBatch = 10, Publishers = 4, MinBackoffMs = 20_000, MaxBackoffMs = 20_000 });
        rig.Sink.Fail = (topic, _) => topic == "t.unscoped" ? Answer(HttpStatusCode.Forbidden) : null;
        for (var i = 0; i < 60; i++)
        {
            rig.Outbox.Enqueue("t.unscoped", new Sample($"refused-{i}", i));
        }

        var ids = Enumerable.Range(0, 20).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await Deadline.WaitUntilAsync(() => Task.FromResult(rig.Outbox.Count == 60), TimeSpan.FromSeconds(10), "the other topic's events to be published");
        var later = rig.Outbox.Enqueue("t.one", new Sample("req-later", 20))!;
        await Deadline.WaitUntilAsync(() => Task.FromResult(rig.Outbox.Count == 60), TimeSpan.FromSeconds(10), "an event stored later to be published");
        await drain.StopAsync(Ct);

        Assert.Equal([.. ids, later], Sent(rig, "t.one"));
        Assert.Equal(60, rig.RowsOnDisk());
        Assert.Equal(0, rig.Outbox.DeadLetterCount);
    }

    [Fact]
    public async Task Events_refused_max_refusals_times_move_to_the_dead_letter_table_and_are_kept()
    {
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MinBackoffMs = 10, MaxBackoffMs = 50, MaxRefusals = 3 });
        rig.Sink.Fail = (topic, _) => topic == "t.unscoped" ? Answer(HttpStatusCode.Forbidden) : null;
        var refused = Enumerable.Range(0, 5).Select(i => rig.Outbox.Enqueue("t.unscoped", new Sample($"refused-{i}", i))!).ToList();
        var ids = Enumerable.Range(0, 5).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0 && rig.Outbox.DeadLetterCount == 5, "the refused events to move to the dead letters");
        await drain.StopAsync(Ct);

        Assert.Equal(ids, Sent(rig, "t.one"));
        // Three attempts each, then no more.
        Assert.All(refused, id => Assert.Equal(3, rig.Sink.Calls.Where(c => c.Topic == "t.unscoped").SelectMany(c => c.Messages).Count(m => m.Id == id)));
        Assert.Equal(0, rig.RowsOnDisk());
        var dead = DeadLetters(rig);
        Assert.Equal(refused, dead.Select(d => d.Id));
        Assert.All(dead, d => Assert.Equal(3, d.Refusals));
        Assert.All(dead, d => Assert.Contains("403", d.Error, StringComparison.Ordinal));
        Assert.Equal(refused, dead.Select(d => RecordingSink.Id(d.Body)));

        // Kept across a restart, and not published again.
        rig.Reopen();
        Assert.Equal(5, rig.Outbox.DeadLetterCount);
        Assert.Equal(0, rig.Outbox.Count);
    }

    [Fact]
    public async Task A_topic_failing_for_a_while_is_retried_without_holding_back_the_others_and_never_dead_lettered()
    {
        // 503: the sidecar or broker cannot publish now; it must not count toward MaxRefusals, however often it happens.
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MinBackoffMs = 10, MaxBackoffMs = 20, MaxRefusals = 1 });
        var failing = 0;
        rig.Sink.Fail = (topic, _) => topic == "t.busy" && Interlocked.Increment(ref failing) <= 5 ? Answer(HttpStatusCode.ServiceUnavailable) : null;
        var busy = Enumerable.Range(0, 4).Select(i => rig.Outbox.Enqueue("t.busy", new Sample($"busy-{i}", i))!).ToList();
        var ids = Enumerable.Range(0, 4).Select(i => rig.Outbox.Enqueue("t.one", new Sample($"req-{i}", i))!).ToList();
        await rig.Outbox.FlushAsync();

        using var drain = rig.Drain();
        await drain.StartAsync(Ct);
        await rig.WaitAsync(() => rig.Outbox.Count == 0, "every event to be published");
        await drain.StopAsync(Ct);

        Assert.Equal(ids, Sent(rig, "t.one"));
        Assert.Equal(busy, Sent(rig, "t.busy"));
        Assert.True(failing > 5);
        Assert.Equal(0, rig.Outbox.DeadLetterCount);
    }

    [Theory]
    [InlineData(HttpStatusCode.Forbidden, true)]
    [InlineData(HttpStatusCode.NotFound, true)]
    [InlineData(HttpStatusCode.BadRequest, true)]
    [InlineData(HttpStatusCode.TooManyRequests, false)]
    [InlineData(HttpStatusCode.RequestTimeout, false)]
    [InlineData(HttpStatusCode.InternalServerError, false)]
    [InlineData(HttpStatusCode.ServiceUnavailable, false)]
    public void Only_a_4xx_answer_refuses_an_event_for_good(HttpStatusCode status, bool permanent)
    {
        Assert.Equal(permanent, OutboxDrain.IsPermanent(Answer(status)));
        Assert.False(OutboxDrain.IsPermanent(new HttpRequestException("connection refused")));
        Assert.True(OutboxDrain.IsPermanent(new InvalidOperationException("publish failed",
            new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.PermissionDenied, "topic not allowed")))));
        Assert.False(OutboxDrain.IsPermanent(new InvalidOperationException("publish failed",
            new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "sidecar down")))));
    }

    // Ids sent to the topic, in the order of their first attempt, once each.
    private static List<string> Sent(OutboxRig rig, string topic) =>
        rig.Sink.Calls.Where(c => c.Topic == topic).SelectMany(c => c.Messages).Select(m => m.Id).Distinct().ToList();

    private static List<(string Id, int Refusals, string Error, byte[] Body)> DeadLetters(OutboxRig rig)
    {
        using var connection = new SqliteConnection($"Data Source={rig.Path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, refusals, error, body FROM outbox_dead ORDER BY seq";
        using var reader = command.ExecuteReader();
        var rows = new List<(string, int, string, byte[])>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), (byte[])reader.GetValue(3)));
        }

        return rows;
    }
}
