using System.Net;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// The lease that makes an actor run in one place (<c>daprllm||actors||lease||TYPE||ID</c>, read here straight from the
/// state.sqlite file): a call during an idle deactivation must not leave the re-activated actor without a lease, and a
/// holder whose lease ran out (its renewals failing) must stop running the actor.
/// </summary>
public sealed class ActorLeaseTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_call_that_arrives_while_the_app_deactivates_the_idle_actor_runs_on_a_lease_that_stays()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe { HoldDeactivations = true };
        var settings = new ActorAppSettings(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));
        await using var node = await ActorNode.StartAsync("A", "actor-lease-idle", ActorComponents.Sqlite(folder, out var database), folder.Sub("registry"), probe, settings);
        var id = Guid.NewGuid().ToString("N");
        Assert.Equal("A", await node.Proxy(id).WhereAsync());

        // The actor goes idle; the app's DELETE for it is now held.
        await Deadline.WaitUntilAsync(() => probe.Deactivations.Any(d => d.Id == id), Wait, "the idle deactivation to reach the app");
        var call = Task.Run(() => node.Proxy(id).HoldAsync(), Ct);
        try
        {
            probe.ReleaseDeactivations();
            await Deadline.WaitUntilAsync(() => probe.HeldCalls.Contains(id), Wait, "the call to run in the app");

            // The actor is active again (and busy, so not idle): its lease must stay, renewed by the heartbeat.
            var activeSince = DateTimeOffset.UtcNow;
            JsonNode? lease = null;
            await Deadline.WaitUntilAsync(async () =>
            {
                lease = await ReadLeaseAsync(database, id);
                return lease is null || lease["expiresAt"]!.GetValue<DateTimeOffset>() > activeSince + TimeSpan.FromSeconds(15);
            }, Wait, "the lease to be renewed or gone");

            Assert.NotNull(lease);
            Assert.StartsWith("actor-lease-idle@", lease["owner"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Single(probe.Deactivations, d => d.Id == id);
        }
        finally
        {
            probe.ReleaseDeactivations();
            probe.ReleaseHeldCalls();
        }

        await call;
    }

    [Fact]
    public async Task A_holder_whose_lease_ran_out_while_renewals_failed_does_not_run_the_actor()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-lease-expiry", ActorComponents.Sqlite(folder, out var database), folder.Sub("registry"), probe,
            ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");
        Assert.Equal("A", await node.Proxy(id).WhereAsync());
        using var http = new HttpClient();
        var url = $"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/method/{nameof(ICounterActor.GetCountAsync)}";

        await using (await SqliteFaults.FailWritesAsync(database, LeaseKey(id), SqliteFault.Error))
        {
            // Every renewal now fails with a store error; past the stored expiry another host could take the actor.
            var expiresAt = (await ReadLeaseAsync(database, id))!["expiresAt"]!.GetValue<DateTimeOffset>();
            await Deadline.WaitUntilAsync(() => DateTimeOffset.UtcNow > expiresAt, Wait, "the lease to run out");

            using var stale = await http.PutAsync(url, null, Ct);
            var body = await stale.Content.ReadAsStringAsync(Ct);

            Assert.True(stale.StatusCode == HttpStatusCode.InternalServerError, $"{(int)stale.StatusCode} {body}");
            Assert.Contains("ERR_ACTOR_INVOKE_METHOD", body, StringComparison.Ordinal);
        }

        // Once the store works again the actor is held here anew.
        Assert.Equal("A", await node.Proxy(id).WhereAsync());
        Assert.StartsWith("actor-lease-expiry@", (await ReadLeaseAsync(database, id))!["owner"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static string LeaseKey(string id) => $"daprllm||actors||lease||{nameof(CounterActor)}||{id}";

    private static async Task<JsonNode?> ReadLeaseAsync(string database, string id)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False;Default Timeout=30");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM state WHERE key = $key";
        command.Parameters.AddWithValue("$key", LeaseKey(id));
        return await command.ExecuteScalarAsync() is string value ? JsonNode.Parse(value) : null;
    }
}
