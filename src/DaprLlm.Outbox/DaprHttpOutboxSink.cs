using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace DaprLlm.Outbox;

/// <summary>
/// Publishes stored CloudEvents through Dapr's HTTP bulk publish API (<c>POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}</c>,
/// daprd's and our sidecar's), writing each stored envelope into the request body as the bytes it was stored as, with
/// content type <c>application/cloudevents+json</c>: the sidecar keeps the envelope (the id fixed at enqueue) and only adds
/// topic and pubsubname, so a redelivery after a crash carries the same id. Cheaper than the SDK's gRPC bulk publish, which
/// serializes every entry again and copies it into protobuf (bench/RESULTS.md, session 9). Entry ids are the row numbers,
/// unique within a call; a 500 answer naming failed entries refuses only those, any other failure the whole call.
/// </summary>
public sealed class DaprHttpOutboxSink : IOutboxSink, IDisposable
{
    private static readonly IReadOnlyList<OutboxMessage> None = [];

    private readonly HttpClient _http;
    private readonly string _pubsubName;

    /// <summary>
    /// Publishes to <paramref name="pubsubName"/> through the sidecar at <paramref name="endpoint"/> (its HTTP API),
    /// sending <paramref name="apiToken"/> (DAPR_API_TOKEN) as <c>dapr-api-token</c> when set.
    /// </summary>
    public DaprHttpOutboxSink(Uri endpoint, string pubsubName, string? apiToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(pubsubName);
        _pubsubName = pubsubName;
        // Its own client, not the app's factory: the drain is the one owner of retries (no resilience handler), and a
        // few pooled HTTP/1.1 connections to the local sidecar are all it needs.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = endpoint,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (!string.IsNullOrEmpty(apiToken))
        {
            _http.DefaultRequestHeaders.Add("dapr-api-token", apiToken);
        }
    }

    /// <summary>
    /// The sidecar's HTTP endpoint as the Dapr .NET SDK finds it: <c>DAPR_HTTP_ENDPOINT</c>, else
    /// <c>http://127.0.0.1:$DAPR_HTTP_PORT</c> (3500 when unset), each from <paramref name="configuration"/> first (as the SDK
    /// reads them; it includes the environment in a host) and else from the environment.
    /// </summary>
    public static Uri DefaultEndpoint(IConfiguration? configuration = null)
    {
        if (Setting(configuration, "DAPR_HTTP_ENDPOINT") is { Length: > 0 } endpoint)
        {
            return new Uri(endpoint);
        }

        var port = Setting(configuration, "DAPR_HTTP_PORT") is { Length: > 0 } p ? p : "3500";
        return new Uri($"http://127.0.0.1:{port}");
    }

    /// <summary>DAPR_API_TOKEN, from <paramref name="configuration"/> first, else the environment.</summary>
    public static string? DefaultApiToken(IConfiguration? configuration = null) => Setting(configuration, "DAPR_API_TOKEN");

    private static string? Setting(IConfiguration? configuration, string name) =>
        configuration?[name] is { Length: > 0 } configured ? configured : Environment.GetEnvironmentVariable(name);

    public async Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return None;
        }

        var body = WriteBody(messages, out var length);
        try
        {
            using var content = new ByteArrayContent(body, 0, length);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post,
                $"v1.0-alpha1/publish/bulk/{Uri.EscapeDataString(_pubsubName)}/{Uri.EscapeDataString(topic)}") { Content = content };
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return None;
            }

            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (response.StatusCode == HttpStatusCode.InternalServerError && FailedEntries(answer, messages) is { } refused)
            {
                return refused;
            }

            throw new HttpRequestException(
                $"bulk publish to {_pubsubName}/{topic} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(answer.AsSpan(0, Math.Min(answer.Length, 300)))}",
                null, response.StatusCode);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    // [{"entryId":"<seq>","contentType":"application/cloudevents+json","event":<stored bytes>},...] in a pooled buffer.
    private static byte[] WriteBody(IReadOnlyList<OutboxMessage> messages, out int length)
    {
        var size = 2;
        foreach (var message in messages)
        {
            size += message.CloudEvent.Length + 128; // the entry's own fields, a row number of up to 20 digits
        }

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        var span = buffer.AsSpan();
        var at = 0;
        span[at++] = (byte)'[';
        for (var i = 0; i < messages.Count; i++)
        {
            if (i > 0)
            {
                span[at++] = (byte)',';
            }

            at += Copy("{\"entryId\":\""u8, span[at..]);
            messages[i].Seq.TryFormat(span[at..], out var written, provider: CultureInfo.InvariantCulture);
            at += written;
            at += Copy("\",\"contentType\":\"application/cloudevents+json\",\"event\":"u8, span[at..]);
            at += Copy(messages[i].CloudEvent, span[at..]);
            span[at++] = (byte)'}';
        }

        span[at++] = (byte)']';
        length = at;
        return buffer;
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    // daprd answers a partly failed bulk publish with 500 and {"failedEntries":[{"entryId","error"}],"errorCode"}; null when
    // the answer names no entry of this call (then the whole call counts as failed).
    private static List<OutboxMessage>? FailedEntries(byte[] answer, IReadOnlyList<OutboxMessage> messages)
    {
        try
        {
            using var document = JsonDocument.Parse(answer);
            if (!document.RootElement.TryGetProperty("failedEntries", out var failed) || failed.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var bySeq = new Dictionary<string, OutboxMessage>(messages.Count, StringComparer.Ordinal);
            foreach (var message in messages)
            {
                bySeq[message.Seq.ToString(CultureInfo.InvariantCulture)] = message;
            }

            var refused = new List<OutboxMessage>();
            foreach (var entry in failed.EnumerateArray())
            {
                if (entry.TryGetProperty("entryId", out var id) && id.ValueKind == JsonValueKind.String && bySeq.TryGetValue(id.GetString()!, out var message))
                {
                    refused.Add(message);
                }
            }

            return refused.Count > 0 ? refused : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}
