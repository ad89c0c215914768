using System.Collections.Concurrent;
using Dapr.Client;

namespace DaprLlm.Gateway.Upstream;

/// <summary>HttpClients that reach another app by app id. Tests swap in their own to put a fake app behind an id.</summary>
public interface IUpstreamChannels
{
    HttpClient For(string appId);
}

/// <summary>
/// Dapr service invocation with a plain HttpClient (the SDK's recommended form): http://{app-id}/{method} goes to
/// the sidecar's /v1.0/invoke API. Retries belong to Dapr resiliency, so these clients have none of their own.
/// </summary>
public sealed class DaprUpstreamChannels(IConfiguration configuration) : IUpstreamChannels
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new();
    private readonly string? _endpoint = configuration["DAPR_HTTP_ENDPOINT"];

    public HttpClient For(string appId) => _clients.GetOrAdd(appId, id =>
    {
        var client = string.IsNullOrEmpty(_endpoint) ? DaprClient.CreateInvokeHttpClient(id) : DaprClient.CreateInvokeHttpClient(id, _endpoint);

        // Generation can take minutes; Dapr resiliency owns the per-call timeout.
        client.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    });
}
