using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using DaprLlm.Sidecar.Resiliency;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>What the app's answer to a delivery means.</summary>
public enum DeliveryOutcome
{
    /// <summary>2xx with an empty body, a non-JSON body, or status SUCCESS; also 404 (daprd drops it as non-retriable).</summary>
    Success,

    /// <summary>The app answered {"status":"DROP"}.</summary>
    Dropped,
}

/// <summary>
/// POSTs one event to the app route as daprd does (application/cloudevents+json, metadata as headers) and reads
/// the answer: SUCCESS or empty acks, DROP drops, RETRY / unknown status / non-404 errors throw
/// <see cref="TransientFailureException"/> so the retry policy can act, 404 is logged and dropped.
/// </summary>
public sealed class AppDelivery(AppChannel.AppChannel channel, ILogger<AppDelivery> logger)
{
    // The app's address of each route, parsed once: a subscription has few routes, a route gets every message.
    private readonly ConcurrentDictionary<string, Uri> _routes = new(StringComparer.Ordinal);

    public async Task<DeliveryOutcome> DeliverAsync(string path, ReadOnlyMemory<byte> body, CloudEvents.Head cloudEvent,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _routes.GetOrAdd(path, p => new Uri(channel.BaseAddress, p.TrimStart('/'))))
        {
            Content = new ReadOnlyMemoryContent(body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", CloudEvents.ContentType);
        foreach (var (key, value) in metadata)
        {
            if (key.Length > 0 && key.All(c => c > ' ' && c < 127 && c != ':'))
            {
                request.Headers.TryAddWithoutValidation(key, value);
            }
        }

        if (cloudEvent.TraceParent is { Length: > 0 } traceparent)
        {
            request.Headers.Remove("traceparent");
            request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        }

        var id = cloudEvent.Id;
        // Sent without HttpClient's buffering layer (its linked cancellation source and buffer copy per message): the
        // answer is read here, and it is small (an empty body or a {"status":...}).
        using var response = await channel.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (status is >= 200 and <= 299)
        {
            var appStatus = AppStatus(answer);
            switch (appStatus?.ToUpperInvariant())
            {
                case null or "" or "SUCCESS":
                    return DeliveryOutcome.Success;
                case "DROP":
                    logger.LogWarning("DROP status returned from app while processing pub/sub event {Id}", id);
                    return DeliveryOutcome.Dropped;
                case "RETRY":
                    throw new TransientFailureException($"RETRY status returned from app while processing pub/sub event {id}");
                default:
                    throw new TransientFailureException($"unknown status returned from app while processing pub/sub event {id}, status: {appStatus}");
            }
        }

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            logger.LogError("non-retriable error returned from app while processing pub/sub event {Id}: status code 404 for path {Path}; the event is dropped", id, path);
            return DeliveryOutcome.Success;
        }

        throw new TransientFailureException($"retriable error returned from app while processing pub/sub event {id}, topic {cloudEvent.Topic}: status code {status}");
    }

    /// <summary>
    /// The <c>status</c> field (any case) of a JSON object answer, else null: daprd skips the status check when the body
    /// is empty or not JSON, which means success. Read without building a tree (one answer per delivered event).
    /// </summary>
    private static string? AppStatus(ReadOnlySpan<byte> answer)
    {
        if (answer.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            answer = answer[3..];
        }

        try
        {
            var reader = new Utf8JsonReader(answer);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            string? status = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isStatus = string.Equals(reader.GetString(), "status", StringComparison.OrdinalIgnoreCase);
                reader.Read();
                if (isStatus)
                {
                    status = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? status : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
