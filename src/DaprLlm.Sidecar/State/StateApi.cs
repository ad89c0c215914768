using System.Globalization;
using System.Text.Json;
using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.State;

/// <summary>daprd's state HTTP API: /v1.0/state/{storeName}[/{key}|/bulk|/transaction].</summary>
public static class StateApi
{
    public static WebApplication MapStateApi(this WebApplication app)
    {
        var group = app.MapGroup("/v1.0/state/{storeName}").UnescapeLikeDaprd();
        group.MapGet("/{key}", GetStateAsync);
        group.MapPost("/", SaveStateAsync);
        group.MapPut("/", SaveStateAsync);
        group.MapDelete("/{key}", DeleteStateAsync);
        group.MapPost("/bulk", BulkGetStateAsync);
        group.MapPut("/bulk", BulkGetStateAsync);
        group.MapPost("/transaction", TransactionAsync);
        group.MapPut("/transaction", TransactionAsync);
        return app;
    }

    /// <summary>metadata.* query parameters, as daprd's getMetadataFromRequest.</summary>
    public static Dictionary<string, string> QueryMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, values) in request.Query)
        {
            if (name.StartsWith("metadata.", StringComparison.Ordinal))
            {
                metadata[name["metadata.".Length..]] = values.FirstOrDefault() ?? "";
            }
        }

        return metadata;
    }

    private static async Task<IResult> GetStateAsync(string storeName, string key, HttpContext context, StateService state)
    {
        try
        {
            var store = state.Resolve(storeName);
            var storeKey = StateService.StoreKey(store, key);
            StateEntry? entry;
            try
            {
                entry = await state.RunAsync(storeName, async ct => await store.Store.GetAsync(storeKey, ct), context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return DaprHttpErrors.Error(500, "ERR_STATE_GET", $"fail to get {key} from state store {storeName}: {e.Message}");
            }

            if (entry is null)
            {
                return Results.NoContent();
            }

            context.Response.Headers.ETag = entry.ETag;
            if (entry.ExpiresAt is { } expires)
            {
                context.Response.Headers["metadata.ttlExpireTime"] = expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            }

            return Results.Bytes(entry.Value, "application/json");
        }
        catch (StateApiException e)
        {
            return e.ToHttp();
        }
    }

    private static async Task<IResult> SaveStateAsync(string storeName, HttpContext context, StateService state)
    {
        try
        {
            var store = state.Resolve(storeName);
            JsonElement body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
            }
            catch (JsonException e)
            {
                return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", e.Message);
            }

            if (body.ValueKind != JsonValueKind.Array)
            {
                return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "json: cannot unmarshal " + GoKind(body) + " into Go value of type []state.SetRequest");
            }

            var queryMetadata = QueryMetadata(context.Request);
            var requests = new List<StateSetRequest>();
            foreach (var item in body.EnumerateArray())
            {
                var parsed = ParseSetRequest(item, queryMetadata, store, out var error);
                if (parsed is null)
                {
                    return error!;
                }

                requests.Add(parsed);
            }

            if (requests.Count == 0)
            {
                return Results.NoContent();
            }

            // daprd saves each item on its own (BulkSet is not a transaction) and reports the errors together.
            Exception? first = null;
            foreach (var request in requests)
            {
                try
                {
                    await state.RunAsync(storeName, ct => store.Store.SetAsync(request, ct), context.RequestAborted);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    first ??= e;
                }
            }

            return first is null
                ? Results.NoContent()
                : DaprHttpErrors.Error(StoreErrorStatus(first), "ERR_STATE_SAVE", $"failed saving state in state store {storeName}: {first.Message}");
        }
        catch (StateApiException e)
        {
            return e.ToHttp();
        }
        catch (StateRequestException e)
        {
            return DaprHttpErrors.Error(500, "ERR_STATE_SAVE", $"failed saving state in state store {storeName}: {e.Message}");
        }
    }

    private static async Task<IResult> DeleteStateAsync(string storeName, string key, HttpContext context, StateService state)
    {
        try
        {
            var store = state.Resolve(storeName);
            var storeKey = StateService.StoreKey(store, key);
            var etag = context.Request.Headers.TryGetValue("If-Match", out var ifMatch) ? ifMatch.ToString() : null;
            try
            {
                var concurrency = StateService.ParseConcurrency(context.Request.Query["concurrency"].FirstOrDefault());
                var request = new StateDeleteRequest(storeKey, string.IsNullOrEmpty(etag) ? null : etag, concurrency);
                await state.RunAsync(storeName, ct => store.Store.DeleteAsync(request, ct), context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return DaprHttpErrors.Error(StoreErrorStatus(e), "ERR_STATE_DELETE", $"failed deleting state with key {key}: {e.Message}");
            }

            return Results.NoContent();
        }
        catch (StateApiException e)
        {
            return e.ToHttp();
        }
    }

    private static async Task<IResult> BulkGetStateAsync(string storeName, HttpContext context, StateService state)
    {
        try
        {
            var store = state.Resolve(storeName);
            List<string> keys;
            try
            {
                var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
                keys = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("keys", out var k) && k.ValueKind == JsonValueKind.Array
                    ? k.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
                    : [];
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {e.Message}");
            }

            var storeKeys = keys.Select(k => StateService.StoreKey(store, k)).ToList();
            IReadOnlyList<StateEntry?> entries;
            try
            {
                entries = storeKeys.Count == 0
                    ? []
                    : await state.RunAsync(storeName, async ct => await store.Store.BulkGetAsync(storeKeys, ct), context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return DaprHttpErrors.Error(500, "ERR_STATE_BULK_GET", e.Message);
            }

            var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                for (var i = 0; i < keys.Count; i++)
                {
                    writer.WriteStartObject();
                    writer.WriteString("key", keys[i]);
                    if (entries[i] is { } entry)
                    {
                        writer.WritePropertyName("data");
                        WriteStoredValue(writer, entry.Value);
                        writer.WriteString("etag", entry.ETag);
                        if (entry.ExpiresAt is { } expires)
                        {
                            writer.WriteStartObject("metadata");
                            writer.WriteString("ttlExpireTime", expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                            writer.WriteEndObject();
                        }
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            return Results.Bytes(buffer.ToArray(), "application/json");
        }
        catch (StateApiException e)
        {
            return e.ToHttp();
        }
    }

    private static async Task<IResult> TransactionAsync(string storeName, HttpContext context, StateService state)
    {
        try
        {
            var store = state.Resolve(storeName);
            JsonElement body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
                if (body.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("json: cannot unmarshal " + GoKind(body) + " into Go value of type http.stateTransactionRequestBody");
                }
            }
            catch (JsonException e)
            {
                return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {e.Message}");
            }

            var queryMetadata = QueryMetadata(context.Request);
            var operations = new List<StateOperation>();
            if (body.TryGetProperty("operations", out var ops) && ops.ValueKind == JsonValueKind.Array)
            {
                foreach (var op in ops.EnumerateArray())
                {
                    var kind = op.TryGetProperty("operation", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : "";
                    var request = op.TryGetProperty("request", out var r) ? r : default;
                    switch (kind)
                    {
                        case "upsert":
                            var set = ParseSetRequest(request, queryMetadata, store, out var error);
                            if (set is null)
                            {
                                return error!;
                            }

                            operations.Add(StateOperation.Upsert(set));
                            break;
                        case "delete":
                            var key = request.ValueKind == JsonValueKind.Object && request.TryGetProperty("key", out var k) ? k.GetString() ?? "" : "";
                            var etag = ReadETag(request);
                            var concurrency = StateService.ParseConcurrency(ReadOption(request, "concurrency"));
                            operations.Add(StateOperation.Remove(new StateDeleteRequest(StateService.StoreKey(store, key), etag, concurrency)));
                            break;
                        default:
                            return DaprHttpErrors.Error(400, "ERR_NOT_SUPPORTED_STATE_OPERATION", $"operation type {kind} not supported");
                    }
                }
            }

            if (operations.Count == 0)
            {
                return Results.NoContent();
            }

            try
            {
                await state.RunAsync(storeName, ct => store.Store.TransactAsync(operations, ct), context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return DaprHttpErrors.Error(500, "ERR_STATE_TRANSACTION", $"error while executing state transaction: {e.Message}");
            }

            return Results.NoContent();
        }
        catch (StateApiException e)
        {
            return e.ToHttp();
        }
        catch (StateRequestException e)
        {
            return DaprHttpErrors.Error(500, "ERR_STATE_TRANSACTION", $"error while executing state transaction: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {e.Message}");
        }
    }

    /// <summary>One {key, value, etag, metadata, options} item; null with an error result when it is malformed.</summary>
    private static StateSetRequest? ParseSetRequest(JsonElement item, IReadOnlyDictionary<string, string> queryMetadata, StateStoreHandle store, out IResult? error)
    {
        error = null;
        if (item.ValueKind != JsonValueKind.Object)
        {
            error = DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "json: cannot unmarshal " + GoKind(item) + " into Go value of type state.SetRequest");
            return null;
        }

        var key = item.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : "";
        if (key.Length == 0)
        {
            error = DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "\"key\" is a required field");
            return null;
        }

        if (item.TryGetProperty("etag", out var e) && e.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            error = DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", "json: cannot unmarshal " + GoKind(e) + " into Go struct field SetRequest.etag of type string");
            return null;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (item.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in m.EnumerateObject())
            {
                metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }

        // daprd copies the metadata.* query parameters over the item's own metadata (maps.Copy): the query wins.
        foreach (var (name, fromQuery) in queryMetadata)
        {
            metadata[name] = fromQuery;
        }

        // daprd re-marshals the JSON value, so what is stored is compact JSON ("null" when absent).
        var value = item.TryGetProperty("value", out var v) ? JsonSerializer.SerializeToUtf8Bytes(v) : "null"u8.ToArray();
        return new StateSetRequest(StateService.StoreKey(store, key), value, ReadETag(item),
            StateService.ParseConcurrency(ReadOption(item, "concurrency")), StateService.ParseTtl(metadata));
    }

    private static string? ReadETag(JsonElement request) =>
        request.ValueKind == JsonValueKind.Object && request.TryGetProperty("etag", out var e) && e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } etag
            ? etag
            : null;

    private static string? ReadOption(JsonElement request, string name) =>
        request.ValueKind == JsonValueKind.Object && request.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object &&
        o.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>409 for a stale ETag, 400 for a malformed one, 500 otherwise (daprd's stateErrorResponse).</summary>
    private static int StoreErrorStatus(Exception e) => e switch
    {
        StateETagException { Invalid: true } => 400,
        StateETagException => 409,
        _ => 500,
    };

    /// <summary>Stored JSON goes out as JSON; bytes that are not JSON (binary saved over gRPC) as a base64 string.</summary>
    private static void WriteStoredValue(Utf8JsonWriter writer, byte[] value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            if (JsonDocument.TryParseValue(ref reader, out var doc))
            {
                using (doc)
                {
                    doc.RootElement.WriteTo(writer);
                    return;
                }
            }
        }
        catch (JsonException)
        {
        }

        writer.WriteBase64StringValue(value);
    }

    private static string GoKind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };
}
