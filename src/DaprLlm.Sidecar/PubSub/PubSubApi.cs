using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>daprd's HTTP publish API: /v1.0/publish/{pubsub}/{topic} and /v1.0-alpha1/publish/bulk/{pubsub}/{topic}.</summary>
public static class PubSubApi
{
    public static WebApplication MapPubSubApi(this WebApplication app)
    {
        app.MapPost("/v1.0/publish/{pubsubname}/{**topic}", PublishAsync).UnescapeLikeDaprd();
        app.MapPost("/v1.0-alpha1/publish/bulk/{pubsubname}/{**topic}", BulkPublishAsync).UnescapeLikeDaprd();

        // What the routes above cannot match: an empty pubsub name ("/publish//topic") or no topic segment at all.
        app.MapPost("/v1.0/publish/{**rest}", IncompletePublish);
        app.MapPost("/v1.0-alpha1/publish/bulk/{**rest}", IncompletePublish);
        return app;
    }

    public static IResult IncompletePublish(HttpRequest request, Publisher publisher)
    {
        var rest = request.Path.Value ?? "";
        rest = rest[(rest.IndexOf("/publish/", StringComparison.Ordinal) + "/publish/".Length)..];
        if (rest.StartsWith("bulk/", StringComparison.Ordinal))
        {
            rest = rest["bulk/".Length..];
        }

        var pubsubName = rest.Split('/')[0];
        try
        {
            publisher.Resolve(pubsubName, "");
            throw PubSubApiException.TopicEmpty(pubsubName);
        }
        catch (PubSubApiException e)
        {
            return DaprHttpErrors.Error(e.HttpStatus, e.ErrorCode, e.Message);
        }
    }

    public static async Task<IResult> PublishAsync(string pubsubname, string? topic, HttpRequest request, Publisher publisher, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadBodyAsync(request, cancellationToken);
            await publisher.PublishAsync(new Publisher.Request(pubsubname, topic ?? "", body, request.ContentType, QueryMetadata(request),
                request.Headers["traceparent"].FirstOrDefault(), request.Headers["tracestate"].FirstOrDefault()), cancellationToken);
            return Results.NoContent();
        }
        catch (PubSubApiException e)
        {
            return DaprHttpErrors.Error(e.HttpStatus, e.ErrorCode, e.Message);
        }
    }

    public static async Task<IResult> BulkPublishAsync(string pubsubname, string? topic, HttpRequest request, Publisher publisher, CancellationToken cancellationToken)
    {
        topic ??= "";
        IPubSub pubsub;
        try
        {
            pubsub = publisher.Resolve(pubsubname, topic);
        }
        catch (PubSubApiException e)
        {
            return DaprHttpErrors.Error(e.HttpStatus, e.ErrorCode, e.Message);
        }

        var requestMetadata = QueryMetadata(request);
        var items = new List<BulkEntry>();
        try
        {
            // A document, not a tree: each entry's event is copied out as the bytes it arrived as.
            using var document = JsonDocument.Parse(await ReadBodyAsync(request, cancellationToken));
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException("the body must be a JSON array of entries");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || StringProperty(entry, "entryId") is not { Length: > 0 } entryId || !seen.Add(entryId))
                {
                    return DaprHttpErrors.Error(StatusCodes.Status400BadRequest, "ERR_PUBSUB_EVENTS_SER",
                        $"error: entryId is duplicated or not present for entry in topic {topic} pubsub {pubsubname}");
                }

                var contentType = StringProperty(entry, "contentType");
                var metadata = new Dictionary<string, string>(requestMetadata, StringComparer.Ordinal);
                if (entry.TryGetProperty("metadata", out var entryMetadata) && entryMetadata.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in entryMetadata.EnumerateObject())
                    {
                        metadata[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
                    }
                }

                if (EventBytes(entry, contentType, out var problem) is not { } data)
                {
                    return DaprHttpErrors.Error(StatusCodes.Status400BadRequest, "ERR_PUBSUB_EVENTS_SER",
                        $"error when marshalling cloud event envelope for topic {topic} pubsub {pubsubname}: {problem}");
                }

                items.Add(new BulkEntry(entryId, data, contentType, metadata));
            }
        }
        catch (JsonException e)
        {
            return DaprHttpErrors.Error(StatusCodes.Status400BadRequest, "ERR_PUBSUB_EVENTS_SER", $"error when unmarshaling the request for topic {topic} pubsub {pubsubname}: {e.Message}");
        }

        var failed = await PublishEntriesAsync(pubsub, publisher, pubsubname, topic, items,
            request.Headers["traceparent"].FirstOrDefault(), request.Headers["tracestate"].FirstOrDefault(), cancellationToken);
        if (failed.Count == 0)
        {
            return Results.NoContent();
        }

        var failedJson = new JsonArray();
        foreach (var (entryId, error) in failed)
        {
            failedJson.Add(new JsonObject { ["entryId"] = entryId, ["error"] = error });
        }

        return Results.Json(new JsonObject { ["failedEntries"] = failedJson, ["errorCode"] = "ERR_PUBSUB_PUBLISH_MESSAGE" },
            DaprJson.Options, statusCode: StatusCodes.Status500InternalServerError);
    }

    /// <summary>One entry of a bulk publish.</summary>
    public sealed record BulkEntry(string EntryId, ReadOnlyMemory<byte> Data, string? ContentType, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Publishes every entry (concurrently); returns the entries that failed with their error.</summary>
    public static async Task<List<(string EntryId, string Error)>> PublishEntriesAsync(
        IPubSub pubsub, Publisher publisher, string pubsubName, string topic, IReadOnlyList<BulkEntry> entries,
        string? traceParent, string? traceState, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(entries.Select(async entry =>
        {
            try
            {
                var message = publisher.Prepare(new Publisher.Request(pubsubName, topic, entry.Data, entry.ContentType, entry.Metadata, traceParent, traceState));
                await pubsub.PublishAsync(message, cancellationToken);
                return (entry.EntryId, Error: (string?)null);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return (entry.EntryId, Error: e.Message);
            }
        }));
        return results.Where(r => r.Error is not null).Select(r => (r.EntryId, r.Error!)).ToList();
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// An entry's event as the bytes to publish, as daprd's ConvertEventToBytes: application/octet-stream takes a base64
    /// string (JSON cannot carry bytes), text/* and application/xml a string (sent as its text), application/json and
    /// application/cloudevents+json any JSON value (sent as JSON). Any other pairing, or no contentType, is refused.
    /// </summary>
    private static byte[]? EventBytes(JsonElement entry, string? contentType, out string? problem)
    {
        const string mismatch = "error: mismatch between contentType and event";
        problem = null;
        var ev = entry.TryGetProperty("event", out var value) ? value : default;
        var isString = ev.ValueKind == JsonValueKind.String;
        var type = (contentType ?? "").ToLowerInvariant();
        if (IsContentType(type, "application/octet-stream"))
        {
            if (!isString)
            {
                problem = mismatch;
                return null;
            }

            try
            {
                return Convert.FromBase64String(ev.GetString()!);
            }
            catch (FormatException e)
            {
                problem = $"error: unable to decode base64 application/octect-stream data: {e.Message}"; // daprd's wording, typo included
                return null;
            }
        }

        if (type.StartsWith("text/", StringComparison.Ordinal) || IsContentType(type, "application/xml"))
        {
            problem = isString ? null : mismatch;
            return isString ? Encoding.UTF8.GetBytes(ev.GetString()!) : null;
        }

        if (IsContentType(type, "application/json") || IsContentType(type, CloudEvents.ContentType))
        {
            // A missing event is JSON null, as daprd marshals it.
            return ev.ValueKind == JsonValueKind.Undefined ? "null"u8.ToArray() : JsonMarshal.GetRawUtf8Value(ev).ToArray();
        }

        problem = mismatch;
        return null;
    }

    // contrib's isContentType: the whole (lower-cased) value, or the part before its first ';', with no trimming.
    private static bool IsContentType(string lowerContentType, string expected) =>
        lowerContentType == expected || (lowerContentType.IndexOf(';') is var semicolon and >= 0 && lowerContentType[..semicolon] == expected);

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static Dictionary<string, string> QueryMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query)
        {
            if (key.StartsWith("metadata.", StringComparison.OrdinalIgnoreCase) && key.Length > "metadata.".Length)
            {
                metadata[key["metadata.".Length..]] = value.ToString();
            }
        }

        return metadata;
    }
}
