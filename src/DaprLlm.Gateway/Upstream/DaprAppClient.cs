using System.Net.Http.Json;
using Dapr.Client;

namespace DaprLlm.Gateway.Upstream;

/// <summary>
/// Calls one app through Dapr service invocation with a plain HttpClient (the SDK's recommended form):
/// http://{app-id}/{method} is sent to the sidecar's /v1.0/invoke API. Retries belong to Dapr resiliency.
/// </summary>
public class DaprAppClient(string appId)
{
    private readonly HttpClient _http = DaprClient.CreateInvokeHttpClient(appId);

    public string AppId { get; } = appId;

    protected async Task<TResponse> PostAsync<TRequest, TResponse>(string method, TRequest body, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsJsonAsync(method, body, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new UpstreamException(AppId, null, $"could not reach the Dapr sidecar to call {AppId}/{method}", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new UpstreamException(AppId, (int)response.StatusCode, $"{AppId}/{method} answered {(int)response.StatusCode}");
            }

            return await response.Content.ReadFromJsonAsync<TResponse>(cancellationToken)
                ?? throw new UpstreamException(AppId, (int)response.StatusCode, $"{AppId}/{method} answered an empty body");
        }
    }
}
