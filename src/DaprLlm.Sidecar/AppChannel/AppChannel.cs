using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.AppChannel;

/// <summary>
/// The sidecar's HTTP connection to its app (--app-port). Adds APP_API_TOKEN as dapr-api-token on every
/// call. Has no timeout of its own: Resiliency policies own timeouts and retries.
/// </summary>
public sealed class AppChannel(IHttpClientFactory httpClientFactory, SidecarOptions options, ILogger<AppChannel> logger)
{
    public const string HttpClientName = "app-channel";

    public bool IsConfigured => options.AppBaseAddress is not null;

    public Uri BaseAddress => options.AppBaseAddress ?? throw new InvalidOperationException("no --app-port was given");

    /// <summary>Sends a request to the app; relative URIs resolve against the app's address.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        if (request.RequestUri is null || !request.RequestUri.IsAbsoluteUri)
        {
            request.RequestUri = new Uri(BaseAddress, request.RequestUri?.OriginalString.TrimStart('/') ?? "");
        }

        if (options.AppApiToken is { } token)
        {
            request.Headers.Remove("dapr-api-token");
            request.Headers.TryAddWithoutValidation("dapr-api-token", token);
        }

        return httpClientFactory.CreateClient(HttpClientName).SendAsync(request, completion, cancellationToken);
    }

    /// <summary>Waits until the app's port accepts connections, as daprd does before loading subscriptions and actors.</summary>
    public async Task WaitForAppAsync(CancellationToken cancellationToken)
    {
        if (!IsConfigured)
        {
            return;
        }

        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var socket = new System.Net.Sockets.TcpClient();
                await socket.ConnectAsync(BaseAddress.Host, BaseAddress.Port, cancellationToken);
                logger.LogInformation("App is listening on {Address}", BaseAddress);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (++attempt % 40 == 0)
                {
                    logger.LogInformation("Still waiting for the app on {Address}", BaseAddress);
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
