using System.Net;
using Dapr.Actors;
using Dapr.Actors.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>One host on an in-memory actor state store: calls, turns, errors, idle deactivation, timers, reminders.</summary>
public sealed class ActorCallTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Remoting_and_non_remoting_proxies_call_methods_and_get_results()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-calls", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");

        var first = await node.Proxy(id).IncrementAsync(2);
        var second = await node.Proxy(id).IncrementAsync(3);
        var byName = ActorProxy.Create(new ActorId(id), nameof(CounterActor), ActorNode.Options(node.Sidecar));
        var third = await byName.InvokeMethodAsync<int, int>(nameof(ICounterActor.IncrementAsync), 4, TestContext.Current.CancellationToken);
        var read = await byName.InvokeMethodAsync<int>(nameof(ICounterActor.GetCountAsync), TestContext.Current.CancellationToken);

        Assert.Equal([2, 5, 9, 9], new[] { first, second, third, read });
        Assert.Single(probe.Activations, a => a.Id == id);
    }

    [Fact]
    public async Task Metadata_lists_the_active_actors_and_a_running_actor_runtime()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-metadata", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => node.Proxy(Guid.NewGuid().ToString("N")).GetCountAsync()));
        using var http = new HttpClient();

        var metadata = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"{node.Sidecar.HttpEndpoint}/v1.0/metadata", TestContext.Current.CancellationToken))!;

        var actors = Assert.Single(metadata["actors"]!.AsArray());
        Assert.Equal(nameof(CounterActor), actors!["type"]!.GetValue<string>());
        Assert.Equal(3, actors["count"]!.GetValue<int>());
        Assert.Equal("RUNNING", metadata["actorRuntime"]!["runtimeStatus"]!.GetValue<string>());
        Assert.True(metadata["actorRuntime"]!["hostReady"]!.GetValue<bool>());
        Assert.Equal(3, metadata["actorRuntime"]!["activeActors"]![0]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Fifty_concurrent_calls_to_one_actor_never_overlap()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-turns", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => node.Proxy(id).TrackedAsync(10))));

        Assert.Equal(0, probe.Overlaps);
        Assert.Equal(1, probe.MaxInside);
        Assert.Equal(Enumerable.Range(1, 50), results.Order());
        Assert.Equal(50, await node.Proxy(id).GetCountAsync());
    }

    [Fact]
    public async Task Calls_to_different_actors_run_in_parallel()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-parallel", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var ids = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        await Task.WhenAll(ids.Select(id => node.Proxy(id).GetCountAsync()));

        await Task.WhenAll(ids.Select(id => node.Proxy(id).TrackedAsync(1000)));

        // Eight one-second calls on eight actors, all sent at once: a sidecar that serialised them would never have
        // two inside the app together (checked from the app's side, not with a clock).
        Assert.True(probe.MaxBusy > 1, $"at most {probe.MaxBusy} call(s) ran at once");
        Assert.Equal(0, probe.Overlaps);
    }

    [Fact]
    public async Task Actor_exceptions_reach_remoting_and_non_remoting_callers()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-errors", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");

        var remoting = await Assert.ThrowsAsync<ActorMethodInvocationException>(() => node.Proxy(id).FailAsync("remoting-boom-17"));
        var byName = ActorProxy.Create(new ActorId(id), nameof(CounterActor), ActorNode.Options(node.Sidecar));
        var nonRemoting = await Assert.ThrowsAnyAsync<Exception>(() =>
            byName.InvokeMethodAsync<string>(nameof(ICounterActor.FailAsync), "plain-boom-23", TestContext.Current.CancellationToken));

        Assert.Contains("remoting-boom-17", remoting.ToString(), StringComparison.Ordinal);
        Assert.IsNotType<TaskCanceledException>(nonRemoting);
        Assert.Equal(1, await node.Proxy(id).IncrementAsync(1));
    }

    [Fact]
    public async Task A_resiliency_timeout_on_the_actor_type_answers_err_actor_invoke_method()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var components = ActorComponents.InMemory(folder);
        folder.Write("components/resiliency.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: actor-timeouts
            spec:
              policies:
                timeouts:
                  short: 500ms
              targets:
                actors:
                  {nameof(CounterActor)}:
                    timeout: short
            """);
        await using var node = await ActorNode.StartAsync("A", "actor-timeout", components, folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");
        using var http = new HttpClient();

        // A method that runs 5 s in the app: the 500 ms policy cuts it.
        using var slow = await http.PutAsync($"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/method/{nameof(ICounterActor.TrackedAsync)}",
            new StringContent("5000", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var body = await slow.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.InternalServerError, slow.StatusCode);
        Assert.Contains("ERR_ACTOR_INVOKE_METHOD", body, StringComparison.Ordinal);
        Assert.Contains("deadline exceeded", body, StringComparison.Ordinal);
        Assert.Equal(1, await node.Proxy(Guid.NewGuid().ToString("N")).IncrementAsync(1));
    }

    [Fact]
    public async Task An_actor_state_transaction_with_entries_that_are_not_objects_is_a_400_and_writes_nothing_and_a_timer_due_at_NaN_is_refused()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-state-input", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");
        await node.Proxy(id).IncrementAsync(1);
        using var http = new HttpClient();
        var url = $"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/state";

        foreach (var body in new[] { "[1]", """[{"operation":"upsert","request":{"key":"k","value":1,"metadata":"x"}}]""" })
        {
            using var response = await http.PostAsync(url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)response.StatusCode} {text}");
            Assert.Contains("ERR_MALFORMED_REQUEST", text, StringComparison.Ordinal);
        }

        using var read = await http.GetAsync($"{url}/k", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, read.StatusCode);

        // Durations that are not durations get daprd's timer error, not an unhandled exception.
        foreach (var dueTime in new[] { "NaN", "1e300", "Infinity" })
        {
            using var timer = await http.PutAsync($"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/timers/t",
                new StringContent($$"""{"dueTime":"{{dueTime}}","callback":"IncrementAsync"}""", System.Text.Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
            Assert.Contains("ERR_ACTOR_TIMER_CREATE", await timer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        // Longer than one System.Threading timer can wait (~49.7 days): accepted, armed in steps (a 500 before).
        foreach (var (dueTime, period) in new[] { ("1200h", ""), ("1300h", "2000h") })
        {
            using var timer = await http.PutAsync($"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/timers/long-{dueTime}",
                new StringContent($$"""{"dueTime":"{{dueTime}}","period":"{{period}}","callback":"IncrementAsync"}""", System.Text.Encoding.UTF8, "application/json"),
                TestContext.Current.CancellationToken);
            Assert.True(timer.IsSuccessStatusCode, $"{dueTime}/{period}: {(int)timer.StatusCode} {await timer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
        }
    }

    [Fact]
    public async Task Idle_actors_are_deactivated_in_the_app_and_keep_their_state()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var settings = new ActorAppSettings(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));
        await using var node = await ActorNode.StartAsync("A", "actor-idle", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, settings);
        var id = Guid.NewGuid().ToString("N");

        await node.Proxy(id).IncrementAsync(7);
        await Deadline.WaitUntilAsync(() => probe.Deactivations.Any(d => d.Id == id), Wait, "idle deactivation");
        var after = await node.Proxy(id).IncrementAsync(1);

        Assert.Equal(8, after);
        Assert.Equal(2, probe.Activations.Count(a => a.Id == id));
    }

    [Fact]
    public async Task Timers_fire_periodically_and_a_one_shot_timer_fires_once()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-timers", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");

        await node.Proxy(id).StartTimerAsync("once", 100, 0);
        await node.Proxy(id).StartTimerAsync("tick", 100, 150);
        await Deadline.WaitUntilAsync(() => probe.Timers.Count(t => t.Id == id && t.Name == "tick") >= 4, Wait, "four ticks");

        Assert.Single(probe.Timers, t => t.Id == id && t.Name == "once");
    }

    [Fact]
    public async Task Reminders_fire_with_their_data_and_stop_after_unregistering()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-reminders", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        var id = Guid.NewGuid().ToString("N");

        await node.Proxy(id).AddReminderAsync("every", 100, 300);
        await Deadline.WaitUntilAsync(() => probe.Reminders.Count(r => r.Id == id && r.Name == "every") >= 2, Wait, "two firings");
        await node.Proxy(id).RemoveReminderAsync("every");
        var removedAt = DateTimeOffset.UtcNow;

        // A later one-shot reminder marks time passing: once it fired, "every" would have fired again too.
        await node.Proxy(id).AddReminderAsync("marker", 1200, 0);
        await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == id && r.Name == "marker"), Wait, "the marker reminder");

        Assert.DoesNotContain(probe.Reminders, r => r.Id == id && r.Name == "every" && r.At > removedAt.AddMilliseconds(100));
        Assert.DoesNotContain(probe.Reminders, r => r.Name.EndsWith(":bad-data", StringComparison.Ordinal));
        Assert.Single(probe.Reminders, r => r.Id == id && r.Name == "marker");
    }

    [Fact]
    public async Task A_reentrant_actor_can_call_itself_when_reentrancy_is_enabled()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var settings = ActorAppSettings.Default with { Reentrancy = true };
        await using var node = await ActorNode.StartAsync("A", "actor-reentrant", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, settings);
        var id = Guid.NewGuid().ToString("N");

        var result = await node.Proxy(id).IncrementThroughSelfAsync(4);
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => node.Proxy(id).TrackedAsync(5))));

        Assert.Equal(8, result);
        Assert.Equal(0, probe.Overlaps);
        Assert.Equal(Enumerable.Range(5, 10), concurrent.Order());
    }

    [Fact]
    public async Task A_sidecar_stopped_gracefully_deactivates_its_active_actors_in_the_app()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        var registry = folder.Sub("registry");
        await using var node = await ActorNode.StartAsync("A", "actor-drain", ActorComponents.InMemory(folder), registry, probe, ActorAppSettings.Default);
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        await Task.WhenAll(ids.Select(id => node.Proxy(id).IncrementAsync(1)));

        // SIGTERM, as an orchestrator stops daprd; the sidecar's pid is in its registry entry (<pid>-<port>.json).
        var entry = Path.GetFileNameWithoutExtension(Directory.GetFiles(Path.Combine(registry, "actor-drain"), "*.json").Single());
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", entry.Split('-')[0]]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await Deadline.WaitUntilAsync(() => node.Sidecar.HasExited, TimeSpan.FromSeconds(20), "the sidecar to stop");

        Assert.Equal(ids.Order(), probe.Deactivations.Select(d => d.Id).Order());
    }

    [Fact]
    public async Task Actor_calls_fail_with_daprd_error_when_no_actor_state_store_is_configured()
    {
        using var folder = new TempFolder();
        folder.Write("components/plain.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: plain
            spec:
              type: state.in-memory
              version: v1
            """);
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("actor-nostore", folder.Sub("components"), folder.Sub("registry")));
        using var http = new HttpClient();

        using var response = await http.PutAsync($"{sidecar.HttpEndpoint}/v1.0/actors/CounterActor/x/method/GetCountAsync", null, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("ERR_ACTOR_RUNTIME_NOT_FOUND", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}
