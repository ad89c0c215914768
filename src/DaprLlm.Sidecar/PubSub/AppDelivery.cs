using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
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
    public async Task<DeliveryOutcome> DeliverAsync(string path, ReadOnlyMemory<byte> body, JsonObject cloudEvent,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
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

        if (Text(cloudEvent["traceparent"]) is { Length: > 0 } traceparent)
        {
            request.Headers.Remove("traceparent");
            request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        }

        var id = Text(cloudEvent["id"]);
        using var response = await channel.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var status = (int)response.StatusCode;
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        if (status is >= 200 and <= 299)
        {
            string? appStatus;
            try
            {
                appStatus = string.IsNullOrWhiteSpace(answer) ? null
                    : JsonNode.Parse(answer, new JsonNodeOptions { PropertyNameCaseInsensitive = true }) is JsonObject o ? Text(o["status"]) : null;
            }
            catch (JsonException)
            {
                // daprd skips the status check when the body is not JSON: success.
                appStatus = null;
            }

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

        throw new TransientFailureException($"retriable error returned from app while processing pub/sub event {id}, topic {Text(cloudEvent["topic"])}: status code {status}");
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
