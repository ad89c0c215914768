using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Http;
using DaprLlm.Sidecar.State;

namespace DaprLlm.Sidecar.Actors;

/// <summary>daprd's actor HTTP API: method calls, actor state, reminders and timers.</summary>
public static class ActorsApi
{
    private static readonly string[] CallVerbs = ["GET", "POST", "PUT", "DELETE"];
    private static readonly string[] WriteVerbs = ["POST", "PUT"];

    public static WebApplication MapActorsApi(this WebApplication app)
    {
        var actors = app.MapGroup("/v1.0/actors/{actorType}/{actorId}").UnescapeLikeDaprd();
        actors.MapMethods("/method/{**method}", CallVerbs, InvokeMethod);
        actors.MapGet("/state/{key}", GetState);
        actors.MapMethods("/state", WriteVerbs, ExecuteStateTransaction);
        actors.MapMethods("/reminders/{name}", WriteVerbs, RegisterReminder);
        actors.MapGet("/reminders/{name}", GetReminder);
        actors.MapDelete("/reminders/{name}", UnregisterReminder);
        actors.MapMethods("/timers/{name}", WriteVerbs, RegisterTimer);
        actors.MapDelete("/timers/{name}", UnregisterTimer);
        return app;
    }

    private static async Task InvokeMethod(HttpContext context, string actorType, string actorId, string method, ActorRuntime runtime)
    {
        var hops = int.TryParse(context.Request.Headers[ActorHeaders.Forwarded], NumberStyles.None, CultureInfo.InvariantCulture, out var h) ? h : 0;

        // Only sidecars forwarding a timer or reminder firing use a method path with a slash.
        if (method.Contains('/', StringComparison.Ordinal) && hops == 0)
        {
            await DaprHttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ERR_NOT_FOUND", $"method '{method}' not found");
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in context.Request.Headers)
        {
            if (ActorHeaders.ShouldForward(name))
            {
                headers.AddRange(values.Where(v => v is not null).Select(v => KeyValuePair.Create(name, v!)));
            }
        }

        var call = new ActorCall(new ActorKey(actorType, actorId), method, buffer.ToArray(), context.Request.ContentType, headers, hops);
        var result = await runtime.InvokeAsync(call, context.RequestAborted);

        context.Response.StatusCode = result.StatusCode;
        foreach (var (name, value) in result.Headers)
        {
            context.Response.Headers.Append(name, value);
        }

        if (result.ContentType is not null)
        {
            context.Response.ContentType = result.ContentType;
        }

        if (result.Body.Length > 0)
        {
            await context.Response.Body.WriteAsync(result.Body, context.RequestAborted);
        }
    }

    private static async Task<IResult> GetState(string actorType, string actorId, string key, ActorStateStoreResolver stores,
        SidecarOptions options, CancellationToken cancellationToken)
    {
        if (stores.Store is not { } store)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        try
        {
            var entry = await store.GetAsync(StateKey(options.AppId, actorType, actorId, key), cancellationToken);
            return entry is null ? Results.NoContent() : Results.Bytes(entry.Value, "application/json");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_STATE_GET", $"error getting actor state: {e.Message}");
        }
    }

    private static async Task<IResult> ExecuteStateTransaction(HttpContext context, string actorType, string actorId, ActorStateStoreResolver stores,
        ActorRuntime runtime, SidecarOptions options, CancellationToken cancellationToken)
    {
        if (stores.Store is not { } store)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        var operations = new List<StateOperation>();
        string? ttlError = null;
        try
        {
            if (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancellationToken) is not JsonArray items)
            {
                return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: expected an array of operations");
            }

            foreach (var item in items)
            {
                if (item is not JsonObject entry)
                {
                    return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: each operation must be an object");
                }

                var operation = entry["operation"]?.ToString();
                var request = entry["request"] as JsonObject;
                var key = request?["key"]?.ToString();
                if (string.IsNullOrEmpty(key))
                {
                    return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "each operation needs a request with a key");
                }

                var fullKey = StateKey(options.AppId, actorType, actorId, key);
                switch (operation?.ToLowerInvariant())
                {
                    case "upsert":
                        if (request!["metadata"] is { } metadata && metadata is not JsonObject)
                        {
                            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: metadata must be an object");
                        }

                        var value = request["value"]?.ToJsonString() ?? "null";
                        var badTtl = TryParseTtl((request["metadata"] as JsonObject)?["ttlInSeconds"]?.ToString(), out var ttl);
                        ttlError ??= badTtl;
                        operations.Add(StateOperation.Upsert(new StateSetRequest(fullKey, Encoding.UTF8.GetBytes(value), Ttl: ttl)));
                        break;
                    case "delete":
                        operations.Add(StateOperation.Remove(new StateDeleteRequest(fullKey)));
                        break;
                    default:
                        return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"operation type {operation} not supported");
                }
            }
        }
        catch (JsonException e)
        {
            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {e.Message}");
        }

        // daprd writes actor state only for an actor active in this sidecar (its turn runs here).
        if (!runtime.IsActiveHere(new ActorKey(actorType, actorId)))
        {
            return InstanceMissing();
        }

        if (ttlError is not null)
        {
            // daprd hands the metadata to the store, whose TTL parse fails the whole transaction.
            return DaprHttpErrors.Error(500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", $"error saving actor transaction state: {ttlError}");
        }

        try
        {
            await store.TransactAsync(operations, cancellationToken);
            return Results.NoContent();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", $"error saving actor transaction state: {e.Message}");
        }
    }

    private static async Task<IResult> RegisterReminder(HttpContext context, string actorType, string actorId, string name,
        ActorReminders reminders, ActorStateStoreResolver stores, ActorRuntime runtime, CancellationToken cancellationToken)
    {
        if (stores.Store is null)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        if (!await IsHostedAsync(runtime, actorType, cancellationToken))
        {
            return NotHosted();
        }

        var body = await ReadObjectAsync(context, cancellationToken);
        if (body is null)
        {
            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: expected a JSON object");
        }

        try
        {
            var error = await reminders.RegisterAsync(new ActorKey(actorType, actorId), name, body, cancellationToken);
            return error is null ? Results.NoContent() : DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", error);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_REMINDER_CREATE", $"error creating actor reminder: {e.Message}");
        }
    }

    private static async Task<IResult> GetReminder(string actorType, string actorId, string name, ActorReminders reminders,
        ActorStateStoreResolver stores, ActorRuntime runtime, CancellationToken cancellationToken)
    {
        if (stores.Store is null)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        if (!await IsHostedAsync(runtime, actorType, cancellationToken))
        {
            return NotHosted();
        }

        var reminder = await reminders.GetAsync(new ActorKey(actorType, actorId), name, cancellationToken);
        if (reminder is null)
        {
            return DaprHttpErrors.Error(404, "ERR_ACTOR_REMINDER_GET", $"reminder {name} not found");
        }

        var json = new JsonObject
        {
            ["actorID"] = actorId,
            ["actorType"] = actorType,
            ["name"] = name,
            ["data"] = reminder.Data?.DeepClone(),
            ["dueTime"] = reminder.DueTime,
            ["period"] = reminder.Period,
        };
        if (reminder.Ttl is not null)
        {
            json["ttl"] = reminder.Ttl;
        }

        return Results.Text(json.ToJsonString(), "application/json");
    }

    private static async Task<IResult> UnregisterReminder(string actorType, string actorId, string name, ActorReminders reminders,
        ActorStateStoreResolver stores, ActorRuntime runtime, CancellationToken cancellationToken)
    {
        if (stores.Store is null)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_RUNTIME_NOT_FOUND", ActorStateStoreResolver.MissingMessage);
        }

        if (!await IsHostedAsync(runtime, actorType, cancellationToken))
        {
            return NotHosted();
        }

        try
        {
            await reminders.UnregisterAsync(new ActorKey(actorType, actorId), name, cancellationToken);
            return Results.NoContent();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return DaprHttpErrors.Error(500, "ERR_ACTOR_REMINDER_DELETE", $"error deleting actor reminder: {e.Message}");
        }
    }

    private static async Task<IResult> RegisterTimer(HttpContext context, string actorType, string actorId, string name, ActorRuntime runtime,
        CancellationToken cancellationToken)
    {
        var body = await ReadObjectAsync(context, cancellationToken);
        if (body is null)
        {
            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: expected a JSON object");
        }

        var error = runtime.RegisterTimer(new ActorKey(actorType, actorId), name, body);
        return error is null ? Results.NoContent() : DaprHttpErrors.Error(500, "ERR_ACTOR_TIMER_CREATE", $"error creating actor timer: {error}");
    }

    private static IResult UnregisterTimer(string actorType, string actorId, string name, ActorRuntime runtime)
    {
        runtime.UnregisterTimer(new ActorKey(actorType, actorId), name);
        return Results.NoContent();
    }

    /// <summary>
    /// components-contrib's ParseTTL for the ttlInSeconds metadata of an actor state upsert: an integer, -1 or greater;
    /// only a positive one sets an expiry. Returns the store's error for anything else.
    /// </summary>
    public static string? TryParseTtl(string? text, out TimeSpan? ttl)
    {
        ttl = null;
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            return $"error parsing TTL: incorrect value for metadata 'ttlInSeconds': strconv.Atoi: parsing \"{text}\": invalid syntax";
        }

        if (seconds < -1)
        {
            return "error parsing TTL: incorrect value for metadata 'ttlInSeconds': must be -1 or greater";
        }

        ttl = seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;
        return null;
    }

    /// <summary>daprd's messages.ErrActorInstanceMissing (HTTP 400; gRPC Internal).</summary>
    public const string InstanceMissingMessage = "actor instance is missing";

    /// <summary>daprd's messages.ErrActorReminderOpActorNotHosted (HTTP 403; gRPC PermissionDenied).</summary>
    public const string NotHostedMessage = "operations on actor reminders are only possible on hosted actor types";

    private static IResult InstanceMissing() => DaprHttpErrors.Error(400, "ERR_ACTOR_INSTANCE_MISSING", InstanceMissingMessage);

    private static IResult NotHosted() => DaprHttpErrors.Error(403, "ERR_ACTOR_REMINDER_NON_HOSTED", NotHostedMessage);

    /// <summary>Whether this sidecar hosts <paramref name="actorType"/> (once the app's actor config was read).</summary>
    public static async Task<bool> IsHostedAsync(ActorRuntime runtime, string actorType, CancellationToken cancellationToken)
    {
        await runtime.EnsureReadyAsync(cancellationToken);
        return runtime.Config.Hosts(actorType);
    }

    /// <summary>daprd's actor state key layout: app id, actor type, actor id, key.</summary>
    public static string StateKey(string appId, string actorType, string actorId, string key) => $"{appId}||{actorType}||{actorId}||{key}";

    private static async Task<JsonObject?> ReadObjectAsync(HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancellationToken) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
