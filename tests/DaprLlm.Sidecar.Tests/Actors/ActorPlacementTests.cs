using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// Actors on a shared Redis actor state store: state across sidecar restarts, several hosts of one type
/// (each id active in one place), failover after a host dies, forwarding from a sidecar that hosts nothing,
/// and durable reminders across sidecar and app restarts.
/// </summary>
public sealed class ActorPlacementTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Actor_state_is_stored_under_daprd_keys_and_survives_a_sidecar_restart()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-restart", ActorComponents.Redis(folder, redis), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");
        await node.Proxy(id).IncrementAsync(11);

        // Actor state sits in the actorStateStore under daprd's key: <app-id>||<actor-type>||<actor-id>||<key>.
        await using (var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Address))
        {
            Assert.Equal("11", (string?)await connection.GetDatabase().HashGetAsync($"actor-restart||CounterActor||{id}||count", "data"));
        }

        await node.Sidecar.KillAsync();
        await node.Sidecar.RestartAsync();
        var after = await node.Proxy(id).IncrementAsync(1);

        Assert.Equal(12, after);
    }

    [Fact]
    public async Task Two_hosts_of_one_type_never_activate_the_same_actor_id_and_a_killed_host_fails_over()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var components = ActorComponents.Redis(folder, redis);
        var registry = folder.Sub("registry");
        await using var a = await ActorNode.StartAsync("A", "actor-pair", components, registry, probe, ActorAppSettings.Default);
        await using var b = await ActorNode.StartAsync("B", "actor-pair", components, registry, probe, ActorAppSettings.Default);
        var ids = Enumerable.Range(0, 40).Select(i => $"pair-{i}-{Guid.NewGuid():N}").ToList();

        // A first call through each sidecar returns once its app's actor config was read: both now host the type.
        Assert.Equal("A", await a.Proxy($"warm-a-{Guid.NewGuid():N}").WhereAsync());
        Assert.Equal("B", await b.Proxy($"warm-b-{Guid.NewGuid():N}").WhereAsync());

        // Each id is first called through one sidecar (alternating), then through both at once, three times each.
        await Task.WhenAll(ids.Select((id, i) => (i % 2 == 0 ? a : b).Proxy(id).IncrementAsync(1)));
        var calls = ids.SelectMany(id => new[] { a, b, a, b, a }.Select(node => Task.Run(() => node.Proxy(id).IncrementAsync(1))));
        await Task.WhenAll(calls);
        var whereA = await Task.WhenAll(ids.Select(id => a.Proxy(id).WhereAsync()));
        var whereB = await Task.WhenAll(ids.Select(id => b.Proxy(id).WhereAsync()));

        Assert.Empty(probe.DoubleActivations);
        Assert.Equal(whereA, whereB);
        Assert.Equal(ids.Count, probe.Activations.Count(x => ids.Contains(x.Id)));
        Assert.Contains("A", whereA);
        Assert.Contains("B", whereA);
        Assert.All(await Task.WhenAll(ids.Select(id => a.Proxy(id).GetCountAsync())), count => Assert.Equal(6, count));

        // Host B dies without deactivating anything: its actors move to A, with their state.
        await b.Sidecar.KillAsync();
        await b.App.StopAsync();
        probe.ForgetHost("B");
        var counts = await Task.WhenAll(ids.Select(id => a.Proxy(id).IncrementAsync(1)));
        var moved = await Task.WhenAll(ids.Select(id => a.Proxy(id).WhereAsync()));

        Assert.All(moved, where => Assert.Equal("A", where));
        Assert.All(counts, count => Assert.Equal(7, count));
        Assert.Empty(probe.DoubleActivations);
    }

    [Fact]
    public async Task A_sidecar_that_hosts_no_actors_forwards_calls_to_a_host()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var components = ActorComponents.Redis(folder, redis);
        var registry = folder.Sub("registry");
        await using var host = await ActorNode.StartAsync("H", "actor-host", components, registry, probe, ActorAppSettings.Default);
        await using var caller = await SidecarProcess.StartAsync(new SidecarSettings("actor-caller", components, registry));
        var id = Guid.NewGuid().ToString("N");
        var proxy = Dapr.Actors.Client.ActorProxy.Create<ICounterActor>(new Dapr.Actors.ActorId(id), nameof(CounterActor), ActorNode.Options(caller));

        // The host announces its types once its app answered /dapr/config.
        await Deadline.WaitUntilAsync(async () =>
        {
            try
            {
                return await proxy.WhereAsync() == "H";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return false;
            }
        }, Wait, "the call through the caller sidecar to reach the host");
        var count = await proxy.IncrementAsync(5);

        Assert.Equal(5, count);
        Assert.Single(probe.Activations, x => x.Id == id);
    }

    [Fact]
    public async Task A_reminder_fires_once_after_both_the_sidecar_and_the_app_were_restarted()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-durable", ActorComponents.Redis(folder, redis), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");
        var markerId = Guid.NewGuid().ToString("N");

        await node.Proxy(id).AddReminderAsync("durable", 3000, 0);
        var dueAt = DateTimeOffset.UtcNow.AddSeconds(3);
        await node.Sidecar.KillAsync();
        await node.App.StopAsync();
        await Deadline.WaitUntilAsync(() => DateTimeOffset.UtcNow > dueAt.AddMilliseconds(500), Wait, "the reminder's due time to pass while nothing runs");
        Assert.DoesNotContain(probe.Reminders, r => r.Id == id);

        await node.Sidecar.RestartAsync();
        await node.App.StartAsync();
        await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == id), Wait, "the reminder to fire after the restart");

        // A later reminder marks time passing: a duplicate firing would have happened by then.
        await node.Proxy(markerId).AddReminderAsync("marker", 1500, 0);
        await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == markerId), Wait, "the marker reminder");

        Assert.Single(probe.Reminders, r => r.Id == id && r.Name == "durable");
    }

    [Fact]
    public async Task A_periodic_reminder_fires_once_per_due_time_with_two_hosts()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var components = ActorComponents.Redis(folder, redis);
        var registry = folder.Sub("registry");
        await using var a = await ActorNode.StartAsync("A", "actor-remind-pair", components, registry, probe, ActorAppSettings.Default);
        await using var b = await ActorNode.StartAsync("B", "actor-remind-pair", components, registry, probe, ActorAppSettings.Default);
        var ids = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid().ToString("N")).ToList();

        var started = DateTimeOffset.UtcNow;
        await Task.WhenAll(ids.Select((id, i) => (i % 2 == 0 ? a : b).Proxy(id).AddReminderAsync("tick", 500, 1000)));
        await Deadline.WaitUntilAsync(() => ids.All(id => probe.Reminders.Count(r => r.Id == id) >= 3), Wait, "three firings per actor");
        await Task.WhenAll(ids.Select(id => a.Proxy(id).RemoveReminderAsync("tick")));
        var elapsed = DateTimeOffset.UtcNow - started;

        // At most one firing per due time: 0.5 s, then every second.
        var allowed = (int)Math.Floor((elapsed.TotalSeconds - 0.5) / 1.0) + 1;
        Assert.All(ids, id => Assert.InRange(probe.Reminders.Count(r => r.Id == id), 3, allowed));
        Assert.Empty(probe.DoubleActivations);
    }
}
