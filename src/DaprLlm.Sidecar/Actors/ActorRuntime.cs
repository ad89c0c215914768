using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Resiliency;
using Polly.Timeout;

namespace DaprLlm.Sidecar.Actors;

/// <summary>
/// The actor runtime of this sidecar: reads the app's actor config, holds actors (turn-based, leased through
/// <see cref="ActorPlacement"/>), forwards calls for actors held elsewhere, runs timers, deactivates idle
/// actors and drains on shutdown.
/// </summary>
public sealed class ActorRuntime(
    AppChannel.AppChannel app,
    ActorPlacement placement,
    ActorStateStoreResolver stores,
    IResiliencyPolicies policies,
    IHttpClientFactory httpClientFactory,
    SidecarOptions options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ActorRuntime> logger) : BackgroundService
{
    public const string ForwardClientName = "actors-forward";

    private static readonly TimeSpan MaxDrain = TimeSpan.FromSeconds(4);

    // A call to an actor whose lease has less than this left asks the store first (normally the heartbeat keeps it far away).
    private static readonly TimeSpan LeaseMargin = ActorPlacement.HeartbeatInterval;
    private readonly ConcurrentDictionary<ActorKey, ActiveActor> _active = new();
    private readonly SemaphoreSlim[] _activationGates = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    public ActorRuntimeConfig Config { get; private set; } = ActorRuntimeConfig.None;

    /// <summary>Completes once the app's actor config was read (at once when there is no app).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Active actors held here, per hosted type (types with none included).</summary>
    public IReadOnlyList<(string Type, int Count)> ActiveCounts()
    {
        var counts = Config.Entities.ToDictionary(t => t, _ => 0, StringComparer.Ordinal);
        foreach (var key in _active.Keys)
        {
            counts[key.Type] = counts.GetValueOrDefault(key.Type) + 1;
        }

        return counts.Select(kv => (kv.Key, kv.Value)).OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
    }

    public bool IsActiveHere(ActorKey key) => _active.ContainsKey(key);

    /// <summary>Waits (bounded) for the app's actor config, so early calls see the hosted types.</summary>
    public async Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        if (!_ready.Task.IsCompleted)
        {
            await Task.WhenAny(_ready.Task, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        }
    }

    /// <summary>Runs a call on the actor's holder: here (activating it if needed) or on another sidecar.</summary>
    public async Task<ActorCallResult> InvokeAsync(ActorCall call, CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken);
        if (stores.Store is null)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        try
        {
            return await InvokeOnHolderAsync(call, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // The actor state store failed while placing the actor: nobody can say who holds it, so nothing runs.
            logger.LogWarning("Placing actor {Actor} failed: {Message}", call.Key, e.Message);
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {e.Message}");
        }
    }

    private async Task<ActorCallResult> InvokeOnHolderAsync(ActorCall call, CancellationToken cancellationToken)
    {
        string? lastProblem = null;
        for (var attempt = 0; attempt < 6; attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken);
            }

            if (_active.TryGetValue(call.Key, out var actor))
            {
                if (!await HoldsLeaseAsync(actor, cancellationToken))
                {
                    continue; // dropped here: the next attempt activates it anew or forwards to the new holder
                }

                var local = await RunLocalAsync(actor, call, cancellationToken);
                if (local is not null)
                {
                    return local;
                }

                continue;
            }

            ActorHostRecord? owner;
            if (Config.Hosts(call.Key.Type) && !_stopping)
            {
                var (activated, holder) = await ActivateAsync(call.Key, cancellationToken);
                if (activated is not null)
                {
                    continue;
                }

                owner = holder;
            }
            else
            {
                owner = await placement.GetOwnerAsync(call.Key, cancellationToken) ?? await PickHostAsync(call.Key, cancellationToken);
            }

            if (owner is null || owner.Owner == placement.Self)
            {
                lastProblem = $"did not find address for actor {call.Key}";
                continue;
            }

            if (call.Hops >= 3)
            {
                return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: too many forwards for actor {call.Key}");
            }

            var forwarded = await ForwardAsync(owner, call, cancellationToken);
            if (forwarded is not null)
            {
                return forwarded;
            }

            lastProblem = $"actor {call.Key}'s host at {owner.Address} did not answer";
        }

        return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {lastProblem}");
    }

    /// <summary>Registers (or replaces) a timer of an actor held here.</summary>
    public string? RegisterTimer(ActorKey key, string name, JsonObject body)
    {
        if (!_active.TryGetValue(key, out var actor))
        {
            return $"actor {key} is not active in this sidecar";
        }

        if (!ActorSchedule.TryParse(body["dueTime"]?.ToString(), body["period"]?.ToString(), body["ttl"]?.ToString(), time.GetUtcNow(), out var schedule, out var error))
        {
            return error;
        }

        var registration = new ActorTimerRegistration(name, body, schedule);
        lock (actor.Timers)
        {
            if (actor.Timers.Remove(name, out var old))
            {
                old.Dispose();
            }

            actor.Timers[name] = registration;
        }

        Arm(actor, registration, schedule.FirstDue);
        return null;
    }

    // One System.Threading timer waits at most ~49.7 days (it threw for a longer dueTime or period, an unhandled 500):
    // longer waits are armed in steps and only the last step fires.
    private static readonly TimeSpan MaxArmedDelay = TimeSpan.FromDays(30);

    private void Arm(ActiveActor actor, ActorTimerRegistration registration, DateTimeOffset dueAt)
    {
        registration.DueAt = dueAt;
        var delay = dueAt - time.GetUtcNow();
        delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxArmedDelay ? MaxArmedDelay : delay;
        if (registration.Timer is { } armed)
        {
            armed.Change(delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            registration.Timer = time.CreateTimer(_ => OnTimerStep(actor, registration), null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimerStep(ActiveActor actor, ActorTimerRegistration registration)
    {
        if (registration.Stopped)
        {
            return;
        }

        if (time.GetUtcNow() < registration.DueAt)
        {
            Arm(actor, registration, registration.DueAt); // an intermediate step of a long wait
            return;
        }

        _ = FireTimerAsync(actor, registration);
    }

    public void UnregisterTimer(ActorKey key, string name)
    {
        if (_active.TryGetValue(key, out var actor))
        {
            lock (actor.Timers)
            {
                if (actor.Timers.Remove(name, out var old))
                {
                    old.Dispose();
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await LoadConfigAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            _ready.TrySetResult();
            return;
        }

        if (Config.Entities.Count > 0)
        {
            if (stores.Names.Count != 1)
            {
                var problem = stores.Names.Count == 0
                    ? $"actors: {ActorStateStoreResolver.MissingMessage}"
                    : $"actors: detected duplicate actor state store: {string.Join(", ", stores.Names)}";
                logger.LogCritical("{Problem}", problem);
                if (stores.Names.Count > 1)
                {
                    // daprd refuses to run with two actor state stores.
                    Environment.ExitCode = 1;
                    lifetime.StopApplication();
                }

                _ready.TrySetResult();
                return;
            }

            await placement.AnnounceAsync(Config.Entities, remove: false, stoppingToken);
            logger.LogInformation("Actor runtime started for types {Types}", string.Join(", ", Config.Entities));
        }

        _ready.TrySetResult();
        if (Config.Entities.Count == 0)
        {
            return;
        }

        await Task.WhenAll(HeartbeatLoopAsync(stoppingToken), IdleLoopAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await base.StopAsync(cancellationToken);
        await DrainAsync(cancellationToken);
    }

    private async Task LoadConfigAsync(CancellationToken cancellationToken)
    {
        if (!app.IsConfigured)
        {
            return;
        }

        await app.WaitForAppAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "dapr/config");
                using var response = await app.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(cancellationToken);
                    Config = ActorRuntimeConfig.Parse(string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text));
                    return;
                }

                if (response.StatusCode == System.Net.HttpStatusCode.NotFound || attempt >= 20)
                {
                    // An app without actors: daprd then hosts no actor types.
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or IOException)
            {
                if (attempt % 20 == 0)
                {
                    logger.LogInformation("Waiting for the app's actor config: {Message}", e.Message);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
    }

    private async Task<ActorHostRecord?> PickHostAsync(ActorKey key, CancellationToken cancellationToken)
    {
        var hosts = await placement.HostsAsync(key.Type, cancellationToken);
        if (hosts.Count == 0)
        {
            return null;
        }

        // Spread first activations over the hosts by a stable hash of the id.
        var hash = 0u;
        foreach (var c in key.Id)
        {
            hash = (hash * 31) + c;
        }

        return hosts[(int)(hash % (uint)hosts.Count)];
    }

    // Activation, deactivation and dropping a lost actor of one key never overlap: a call arriving while the actor is
    // being deactivated waits and then activates it afresh, after its old lease was released.
    private SemaphoreSlim GateOf(ActorKey key) => _activationGates[(key.GetHashCode() & 0x7fffffff) % _activationGates.Length];

    private async Task<(ActiveActor? Actor, ActorHostRecord? Owner)> ActivateAsync(ActorKey key, CancellationToken cancellationToken)
    {
        var gate = GateOf(key);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (_active.TryGetValue(key, out var existing))
            {
                return (existing, null);
            }

            var started = time.GetUtcNow();
            var lease = await placement.TryAcquireAsync(key, cancellationToken);
            if (!lease.Acquired)
            {
                return (null, lease.Owner);
            }

            var actor = new ActiveActor(key, lease.ETag!, time.GetUtcNow()) { LeaseValidUntil = started + ActorPlacement.LeaseDuration };
            _active[key] = actor;
            return (actor, null);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ActorCallResult?> RunLocalAsync(ActiveActor actor, ActorCall call, CancellationToken cancellationToken)
    {
        var settings = Config.For(call.Key.Type);

        // With reentrancy, a call without a chain id starts a new chain; calls the actor makes carry it back.
        var chain = settings.Reentrancy ? call.ReentrancyId ?? Guid.NewGuid().ToString() : null;
        ActiveActor.Turn? turn;
        try
        {
            turn = await actor.EnterAsync(chain, settings.Reentrancy, settings.MaxStackDepth, cancellationToken);
        }
        catch (ActorStackDepthException e)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {e.Message}");
        }

        if (turn is null)
        {
            return null;
        }

        using (turn)
        {
            actor.Touch(time.GetUtcNow());
            try
            {
                return await CallAppAsync(call, chain, cancellationToken);
            }
            finally
            {
                actor.Touch(time.GetUtcNow());
            }
        }
    }

    private async Task<ActorCallResult> CallAppAsync(ActorCall call, string? chain, CancellationToken cancellationToken)
    {
        var path = $"actors/{Uri.EscapeDataString(call.Key.Type)}/{Uri.EscapeDataString(call.Key.Id)}/method/{string.Join('/', call.Method.Split('/').Select(Uri.EscapeDataString))}";
        try
        {
            return await policies.Actor(call.Key.Type).ExecuteAsync(async ct =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new ByteArrayContent(call.Body) };
                if (call.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var media))
                {
                    request.Content.Headers.ContentType = media;
                }

                foreach (var (name, value) in call.Headers)
                {
                    if (ActorHeaders.ShouldForward(name) && !string.Equals(name, ActorHeaders.ReentrancyId, StringComparison.OrdinalIgnoreCase))
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }
                }

                if (chain is not null)
                {
                    request.Headers.TryAddWithoutValidation(ActorHeaders.ReentrancyId, chain);
                }

                using var response = await app.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                return FromApp(call, await ReadAsync(response, ct));
            }, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {e.Message}");
        }
        catch (TransientFailureException e)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {e.Message}");
        }

        // A Resiliency actor policy gave up: daprd's answer, not an unhandled exception (an empty 500).
        catch (TimeoutRejectedException)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", "error invoke actor method: context deadline exceeded");
        }
        catch (CircuitBreakerOpenException e)
        {
            return ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {e.Message}");
        }
    }

    private async Task<ActorCallResult?> ForwardAsync(ActorHostRecord owner, ActorCall call, CancellationToken cancellationToken)
    {
        var uri = new Uri(new Uri(owner.Address),
            $"v1.0/actors/{Uri.EscapeDataString(call.Key.Type)}/{Uri.EscapeDataString(call.Key.Id)}/method/{string.Join('/', call.Method.Split('/').Select(Uri.EscapeDataString))}");
        using var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ByteArrayContent(call.Body) };
        if (call.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            request.Content.Headers.ContentType = media;
        }

        foreach (var (name, value) in call.Headers)
        {
            if (ActorHeaders.ShouldForward(name))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        request.Headers.TryAddWithoutValidation(ActorHeaders.Forwarded, (call.Hops + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (options.ApiToken is { } token)
        {
            request.Headers.TryAddWithoutValidation("dapr-api-token", token);
        }

        try
        {
            using var response = await httpClientFactory.CreateClient(ForwardClientName).SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            return await ReadAsync(response, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            logger.LogDebug("Forwarding {Actor} to {Address} failed: {Message}", call.Key, owner.Address, e.Message);
            return null;
        }
    }

    /// <summary>
    /// daprd passes the app's answer through only when it is a 200 (the .NET SDK's remoting errors are 200s with
    /// X-DaprErrorResponseHeader); any other status becomes its ERR_ACTOR_INVOKE_METHOD with the app's status and body.
    /// </summary>
    private static ActorCallResult FromApp(ActorCall call, ActorCallResult result) => result.StatusCode switch
    {
        200 => result,
        404 => ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: actor method not found: {call.Method}"),
        _ => ActorCallResult.Error(500, "ERR_ACTOR_INVOKE_METHOD",
            $"error invoke actor method: error from actor service: ({result.StatusCode}) {Encoding.UTF8.GetString(result.Body)}"),
    };

    private static async Task<ActorCallResult> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in response.Headers)
        {
            if (ActorHeaders.ShouldForward(name) && !name.Equals("Date", StringComparison.OrdinalIgnoreCase) && !name.Equals("Server", StringComparison.OrdinalIgnoreCase))
            {
                headers.AddRange(values.Select(v => KeyValuePair.Create(name, v)));
            }
        }

        return new ActorCallResult((int)response.StatusCode, body, response.Content.Headers.ContentType?.ToString(), headers);
    }

    private async Task FireTimerAsync(ActiveActor actor, ActorTimerRegistration timer)
    {
        if (timer.Stopped || actor.Deactivated)
        {
            return;
        }

        var body = new JsonObject
        {
            ["callback"] = timer.Body["callback"]?.DeepClone(),
            ["data"] = timer.Body["data"]?.DeepClone(),
            ["dueTime"] = timer.Body["dueTime"]?.DeepClone() ?? "",
            ["period"] = timer.Body["period"]?.DeepClone() ?? "",
        };
        var call = new ActorCall(actor.Key, $"timer/{timer.Name}", Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", []);
        try
        {
            var result = await RunLocalAsync(actor, call, CancellationToken.None);
            if (result is null)
            {
                return;
            }

            if (!result.IsSuccess)
            {
                logger.LogWarning("Timer {Timer} of {Actor} failed with status {Status}", timer.Name, actor.Key, result.StatusCode);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Timer {Timer} of {Actor} failed", timer.Name, actor.Key);
        }

        timer.Fired++;
        var schedule = timer.Schedule;
        var next = time.GetUtcNow() + (schedule.Period ?? TimeSpan.Zero);
        var done = schedule.Period is null
                   || (schedule.Repetitions is { } max && timer.Fired >= max)
                   || (schedule.ExpiresAt is { } expires && next > expires);
        if (done)
        {
            lock (actor.Timers)
            {
                if (actor.Timers.TryGetValue(timer.Name, out var current) && ReferenceEquals(current, timer))
                {
                    actor.Timers.Remove(timer.Name);
                }
            }

            timer.Dispose();
            return;
        }

        if (!timer.Stopped)
        {
            Arm(actor, timer, time.GetUtcNow() + schedule.Period!.Value);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ActorPlacement.HeartbeatInterval, time);
        while (await WaitTickAsync(timer, stoppingToken))
        {
            try
            {
                await placement.AnnounceAsync(Config.Entities, remove: false, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning(e, "Announcing the hosted actor types failed");
            }

            // Each lease on its own: one failing renewal must not leave the others to run out.
            await Task.WhenAll(_active.Values.Select(actor => RenewOneAsync(actor, stoppingToken)));
        }
    }

    private async Task RenewOneAsync(ActiveActor actor, CancellationToken stoppingToken)
    {
        try
        {
            if (!await RenewLeaseAsync(actor, onlyIfDue: false, stoppingToken))
            {
                // Another sidecar took the actor over (we were presumed dead): stop holding it here.
                await DropLostAsync(actor, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning(e, "Renewing the lease of actor {Actor} failed", actor.Key);
            if (time.GetUtcNow() >= actor.LeaseValidUntil)
            {
                // Past its lease another sidecar may hold it now: timers must not fire on this stale instance either.
                await DropLostAsync(actor, stoppingToken);
            }
        }
    }

    /// <summary>
    /// Whether this sidecar may still run <paramref name="actor"/>: yes while its lease is comfortably valid, otherwise
    /// only after a renewal succeeded. A lease that is lost, or that the store cannot confirm, drops the actor here.
    /// </summary>
    private async Task<bool> HoldsLeaseAsync(ActiveActor actor, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() < actor.LeaseValidUntil - LeaseMargin)
        {
            return true;
        }

        bool renewed;
        try
        {
            renewed = await RenewLeaseAsync(actor, onlyIfDue: true, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            if (time.GetUtcNow() < actor.LeaseValidUntil)
            {
                return true; // not confirmed, but still within the lease
            }

            await DropLostAsync(actor, cancellationToken);
            throw;
        }

        if (!renewed)
        {
            await DropLostAsync(actor, cancellationToken);
        }

        return renewed;
    }

    /// <summary>Renews the lease (under the actor's lease lock); false when another sidecar holds it now.</summary>
    private async Task<bool> RenewLeaseAsync(ActiveActor actor, bool onlyIfDue, CancellationToken cancellationToken)
    {
        await actor.LeaseLock.WaitAsync(cancellationToken);
        try
        {
            if (onlyIfDue && time.GetUtcNow() < actor.LeaseValidUntil - LeaseMargin)
            {
                return true; // renewed meanwhile by another caller
            }

            var started = time.GetUtcNow();
            var etag = await placement.RenewAsync(actor.Key, actor.LeaseETag, cancellationToken);
            if (etag is null)
            {
                return false;
            }

            actor.LeaseETag = etag;
            actor.LeaseValidUntil = started + ActorPlacement.LeaseDuration;
            return true;
        }
        finally
        {
            actor.LeaseLock.Release();
        }
    }

    /// <summary>Stops holding an actor whose lease is lost: no more calls or timers here, and the app deactivates it.</summary>
    private async Task DropLostAsync(ActiveActor actor, CancellationToken cancellationToken)
    {
        var gate = GateOf(actor.Key);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!_active.TryRemove(KeyValuePair.Create(actor.Key, actor)))
            {
                return; // already deactivated or dropped
            }

            logger.LogWarning("Lost the lease of actor {Actor}; deactivating it here", actor.Key);
            actor.MarkLost();
            DisposeTimers(actor);
            await DeactivateInAppAsync(actor.Key, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task IdleLoopAsync(CancellationToken stoppingToken)
    {
        var interval = Config.ScanInterval > TimeSpan.Zero ? Config.ScanInterval : TimeSpan.FromSeconds(30);
        using var timer = new PeriodicTimer(interval, time);
        while (await WaitTickAsync(timer, stoppingToken))
        {
            var now = time.GetUtcNow();
            foreach (var actor in _active.Values)
            {
                if (now - actor.LastUsed < Config.For(actor.Key.Type).IdleTimeout || !actor.TryBeginDeactivation())
                {
                    continue;
                }

                try
                {
                    await DeactivateAsync(actor, stoppingToken);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    logger.LogWarning(e, "Deactivating {Actor} failed", actor.Key);
                }
                finally
                {
                    actor.EndDeactivation();
                }
            }
        }
    }

    private async Task DeactivateAsync(ActiveActor actor, CancellationToken cancellationToken)
    {
        // Under the activation gate, so that a call arriving during the app's DELETE cannot re-activate the actor
        // on the lease this deactivation then releases (the actor would run here with no lease at all).
        var gate = GateOf(actor.Key);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!_active.TryRemove(KeyValuePair.Create(actor.Key, actor)))
            {
                return; // dropped meanwhile: its lease was lost
            }

            DisposeTimers(actor);
            await DeactivateInAppAsync(actor.Key, cancellationToken);
            await placement.ReleaseAsync(actor.Key, actor.LeaseETag, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task DeactivateInAppAsync(ActorKey key, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, $"actors/{Uri.EscapeDataString(key.Type)}/{Uri.EscapeDataString(key.Id)}");
            using var response = await app.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The app answered {Status} to the deactivation of {Actor}", (int)response.StatusCode, key);
            }
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning("Could not deactivate {Actor} in the app: {Message}", key, e.Message);
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var actors = _active.Values.ToList();
        if (actors.Count == 0)
        {
            if (Config.Entities.Count > 0 && stores.Store is not null)
            {
                await placement.AnnounceAsync(Config.Entities, remove: true, CancellationToken.None);
            }

            return;
        }

        await Task.WhenAll(actors.Select(async actor =>
        {
            var timeout = Config.For(actor.Key.Type).DrainOngoingCallTimeout;
            await actor.BeginDrainAsync(timeout < MaxDrain ? timeout : MaxDrain);
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                cts.CancelAfter(MaxDrain);
                await DeactivateAsync(actor, cts.Token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning("Draining {Actor} failed: {Message}", actor.Key, e.Message);
            }
        }));
        try
        {
            await placement.AnnounceAsync(Config.Entities, remove: true, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Removing this host from the actor hosts failed: {Message}", e.Message);
        }

        logger.LogInformation("Drained {Count} active actors", actors.Count);
    }

    private static void DisposeTimers(ActiveActor actor)
    {
        lock (actor.Timers)
        {
            foreach (var timer in actor.Timers.Values)
            {
                timer.Dispose();
            }

            actor.Timers.Clear();
        }
    }

    private static async Task<bool> WaitTickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
