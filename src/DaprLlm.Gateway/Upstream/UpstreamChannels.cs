using System.Collections.Concurrent;
using Dapr;

namespace DaprLlm.Gateway.Upstream;

/// <summary>HttpClients that reach another app by app id. Tests swap in their own to put a fake app behind an id.</summary>
public interface IUpstreamChannels
{
    HttpClient For(string appId);
}

/// <summary>
/// Dapr service invocation with a plain HttpClient: http://{app-id}/{method} goes to the sidecar's /v1.0/invoke API
/// (<see cref="DaprInvokeHandler"/>). Retries belong to Dapr resiliency, so these clients have none of their own.
/// All app ids share one connection pool to the sidecar.
/// </summary>
public sealed class DaprUpstreamChannels : IUpstreamChannels, IDisposable
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new();
    private readonly SocketsHttpHandler _sockets;
    private readonly Uri _endpoint;
    private readonly string? _apiToken;

    public DaprUpstreamChannels(IConfiguration configuration)
    {
        _endpoint = DaprInvokeHandler.ParseEndpoint(configuration["DAPR_HTTP_ENDPOINT"] is { Length: > 0 } endpoint
            ? endpoint
            : DaprDefaults.GetDefaultHttpEndpoint());
        _apiToken = DaprDefaults.GetDefaultDaprApiToken(configuration);
        _sockets = CreateSocketsHandler();
    }

    /// <summary>
    /// The sidecar is on loopback and speaks plain JSON: no proxy lookup, redirects, cookies or decompression, and
    /// connections kept (and reused) as long as they are used, since every request makes several calls.
    /// </summary>
    public static SocketsHttpHandler CreateSocketsHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    public HttpClient For(string appId) => _clients.GetOrAdd(appId, id =>
        new HttpClient(new DaprInvokeHandler(id, _endpoint, _apiToken) { InnerHandler = new UnrecordedSpanHandler { InnerHandler = _sockets } }, disposeHandler: false)
        {
            BaseAddress = new Uri($"http://{id}/"),

            // Generation can take minutes; Dapr resiliency owns the per-call timeout.
            Timeout = Timeout.InfiniteTimeSpan,
        });

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _sockets.Dispose();
    }
}
