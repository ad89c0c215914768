using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>
/// The audit app and, separately, its sidecar are killed (SIGKILL) while events are being published; after restart
/// every published event is stored exactly once. Real redis-server, real sidecars, the real app process.
/// </summary>
public sealed class CrashRecoveryTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private const int Events = 240;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<List<string>> PublishAsync(string prefix, int from, int to, string tenant)
    {
        var ids = new List<string>();
        for (var n = from; n < to; n++)
        {
            var id = $"{prefix}-{n}";
            await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted,
                new RequestCompletedV1(id, "daprllm-demo", RequestCompletedV1.Outcomes.Completed, "stop", 3, 5, "allow", "allow", null, DateTimeOffset.UtcNow,
                    TenantId: tenant, Region: "eu", UserId: $"user-{n % 7}", Prompt: $"prompt {n} from someone@example.com", Completion: "ok"), Ct);
            ids.Add(id);
        }

        return ids;
    }

    private async Task AssertStoredExactlyOnceAsync(string region, List<string> published)
    {
        await system.WaitAsync(async () =>
        {
            var stored = await system.StoredRequestIdsAsync(region);
            return published.All(stored.ToHashSet().Contains);
        }, TimeSpan.FromSeconds(120), "every published event to be stored");
        var storedIds = await system.StoredRequestIdsAsync(region);
        var mine = storedIds.Where(id => published.Contains(id)).ToList();
        Assert.Equal(published.Count, mine.Count);
        Assert.Equal(published.Order(), mine.Order());

        using var verify = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/verify"), Ct);
        var body = await verify.Content.ReadAsStringAsync(Ct);
        Assert.True(verify.IsSuccessStatusCode, body);
        Assert.Contains("\"ok\":true", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_event_is_stored_exactly_once_when_the_audit_app_is_killed_mid_stream()
    {
        var prefix = "app-" + Guid.NewGuid().ToString("N")[..6];
        var published = await PublishAsync(prefix, 0, Events / 2, "eu-corp");
        // Kill while deliveries are in flight: some are committed but not yet acknowledged, some not yet committed.
        await system.WaitAsync(async () => (await system.StoredRequestIdsAsync("eu")).Count(id => id.StartsWith(prefix, StringComparison.Ordinal)) >= 10,
            TimeSpan.FromSeconds(60), "the first events to be stored");
        await system.App.KillAsync();
        published.AddRange(await PublishAsync(prefix, Events / 2, Events, "eu-corp"));
        await system.App.StartAsync();

        await AssertStoredExactlyOnceAsync("eu", published);
    }

    [Fact]
    public async Task Every_event_is_stored_exactly_once_when_the_audit_sidecar_is_killed_mid_stream()
    {
        var prefix = "sidecar-" + Guid.NewGuid().ToString("N")[..6];
        var published = await PublishAsync(prefix, 0, Events / 2, "eu-corp");
        await system.WaitAsync(async () => (await system.StoredRequestIdsAsync("eu")).Count(id => id.StartsWith(prefix, StringComparison.Ordinal)) >= 10,
            TimeSpan.FromSeconds(60), "the first events to be stored");
        await system.AuditSidecar.KillAsync();
        published.AddRange(await PublishAsync(prefix, Events / 2, Events, "eu-corp"));
        await system.AuditSidecar.RestartAsync(TimeSpan.FromSeconds(90));

        await AssertStoredExactlyOnceAsync("eu", published);
    }

    [Fact]
    public async Task A_delivery_is_acknowledged_only_after_its_commit_so_a_crash_before_the_commit_loses_nothing()
    {
        var prefix = "locked-" + Guid.NewGuid().ToString("N")[..6];
        var path = Path.Combine(system.DataDirectory, "audit-eu.db");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(system.RedisAddress);
        var db = redis.GetDatabase();
        List<string> published;
        // Another writer holds the eu database, so the app receives the event but cannot commit it.
        var blocker = new SqliteConnection($"Data Source={path};Pooling=False");
        try
        {
            await blocker.OpenAsync(Ct);
            await using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync(Ct);
            }

            static int Failures(string output) => output.Split("asking for redelivery").Length - 1;
            var failuresBefore = Failures(system.App.Output);
            published = await PublishAsync(prefix, 0, 1, "eu-corp");
            // The app has tried to store it and failed (it logs that), and the broker still holds the delivery
            // unacknowledged: had the app answered SUCCESS before the commit, the entry would have left the pending list.
            await system.WaitAsync(async () =>
            {
                if (Failures(system.App.Output) <= failuresBefore)
                {
                    return false;
                }

                var entry = (await db.StreamRangeAsync(Topics.RequestCompleted)).SingleOrDefault(e => e.Values.Any(v => v.Value.ToString().Contains(published[0], StringComparison.Ordinal)));
                return !entry.IsNull && (await db.StreamPendingMessagesAsync(Topics.RequestCompleted, AppIds.Audit, 10, RedisValue.Null, entry.Id, entry.Id)).Length == 1;
            }, TimeSpan.FromSeconds(90), "the app to fail the commit while the delivery stays unacknowledged");
            Assert.DoesNotContain(published[0], await system.StoredRequestIdsAsync("eu"));

            // Crash while the delivery is still unacknowledged, then let the database go.
            await system.App.KillAsync();
        }
        finally
        {
            await blocker.DisposeAsync();
        }

        await system.App.StartAsync();
        await AssertStoredExactlyOnceAsync("eu", published);
    }
}
