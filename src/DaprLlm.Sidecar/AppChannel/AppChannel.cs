using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.AppChannel;

/// <summary>
/// The sidecar's HTTP connection to its app (--app-port). Adds APP_API_TOKEN as dapr-api-token on every
/// call. Has no timeout of its own: Resiliency policies own timeouts and retries.
/// </summary>
public sealed class AppChannel(SidecarOptions options, ILogger<AppChannel> logger) : IDisposable
{
    // One handler (one connection pool) for the app, kept for the sidecar's life: the app's address never changes,
    // so the factory's handler rotation bought nothing, and its CreateClient cost showed in the invocation profile.
    private readonly (HttpMessageInvoker Streamed, HttpClient Buffered) _senders = CreateSenders(options.AppProtocol == "https");

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

        // Streamed answers (service invocation) need no HttpClient: the invoker returns at the headers, with no
        // per-call linked cancellation source. Buffered answers keep HttpClient's content buffering.
        return completion == HttpCompletionOption.ResponseHeadersRead
            ? _senders.Streamed.SendAsync(request, cancellationToken)
            : _senders.Buffered.SendAsync(request, completion, cancellationToken);
    }

    public void Dispose()
    {
        _senders.Streamed.Dispose();
        _senders.Buffered.Dispose();
    }

    private static (HttpMessageInvoker, HttpClient) CreateSenders(bool https)
    {
        var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        if (https)
        {
            // As daprd's app channel: the app beside the sidecar usually has a self-signed certificate, so TLS encrypts
            // but the certificate is not verified (InsecureSkipVerify).
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        return (new HttpMessageInvoker(handler, disposeHandler: false), new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan });
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
