using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DaprLlm.Gateway.Upstream;

/// <summary>JSON calls to an upstream app that turn every transport or status failure into an <see cref="UpstreamException"/>.</summary>
public static class UpstreamCall
{
    /// <summary>Web defaults; the wire types of every request use generated metadata, anything else reflection.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = JsonTypeInfoResolver.Combine(UpstreamJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };

    public static async Task<TResponse> PostAsync<TRequest, TResponse>(HttpClient http, string appId, string method, TRequest body, CancellationToken ct)
    {
        // Headers only: the JSON is read straight from the connection instead of first being copied into a
        // buffered MemoryStream (a byte[] per call, three calls per chat request). The clients have no timeout of
        // their own (Dapr resiliency owns it) and ct still covers the body.
        using var response = await SendAsync(http, appId, new HttpRequestMessage(HttpMethod.Post, MethodUri(http, method)) { Content = Body(body) },
            HttpCompletionOption.ResponseHeadersRead, ct);
        return await ReadAsync<TResponse>(response, appId, method, ct);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Uri? Base, string Method), Uri> MethodUris = new();

    /// <summary>
    /// One absolute URI per client base and fixed method: a relative method string costs HttpClient a Uri parse and
    /// a combined Uri on every call (three calls per chat request), and the invoke handler recognises the cached
    /// string. Only for the fixed method names of this class's callers (a handful), never for per-id paths.
    /// </summary>
    public static Uri MethodUri(HttpClient http, string method) =>
        http.BaseAddress is not { } address
            ? new Uri(method, UriKind.RelativeOrAbsolute)
            : MethodUris.GetOrAdd((address, method), static key => new Uri(key.Base!, key.Method));

    /// <summary>
    /// The body serialized up front: small JSON bodies go out with a Content-Length in one write, where JsonContent
    /// would stream them chunked (more writes and parsing on every hop).
    /// </summary>
    public static ByteArrayContent Body<T>(T value)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, Json));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        return content;
    }

    public static async Task<TResponse> GetAsync<TResponse>(HttpClient http, string appId, string method, CancellationToken ct)
    {
        using var response = await SendAsync(http, appId, new HttpRequestMessage(HttpMethod.Get, method), HttpCompletionOption.ResponseHeadersRead, ct);
        return await ReadAsync<TResponse>(response, appId, method, ct);
    }

    /// <summary>Sends and checks the status; the caller owns (disposes) the response.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, string appId, HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new UpstreamException(appId, null, $"could not reach {appId}/{request.RequestUri}", e);
        }
        finally
        {
            request.Dispose();
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            var retryAfter = response.Headers.RetryAfter?.Delta;
            var body = await response.Content.ReadAsStringAsync(ct);
            response.Dispose();
            throw new UpstreamException(appId, status, $"{appId} answered {status}", retryAfter: retryAfter, body: body);
        }

        return response;
    }

    private static async Task<TResponse> ReadAsync<TResponse>(HttpResponseMessage response, string appId, string method, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<TResponse>(Json, ct)
                ?? throw new UpstreamException(appId, (int)response.StatusCode, $"{appId}/{method} answered an empty body");
        }
        catch (JsonException e)
        {
            throw new UpstreamException(appId, (int)response.StatusCode, $"{appId}/{method} answered malformed JSON", e);
        }
        catch (IOException e)
        {
            // The body is read after the headers now: a connection lost mid-body is a transport failure, as before.
            throw new UpstreamException(appId, null, $"could not read {appId}/{method}", e);
        }
    }
}
