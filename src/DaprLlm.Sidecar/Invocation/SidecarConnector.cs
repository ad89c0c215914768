using System.Net.Sockets;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// Opens the connections of the sidecar-to-sidecar HttpClient: to the target's Unix domain socket when its registry
/// entry has one (the request carries the path in <see cref="SocketPathKey"/>), otherwise over TCP as usual. A
/// socket that cannot be reached (the peer is still binding it, or removed it) falls back to TCP, so a call never
/// fails just because of the faster path.
/// </summary>
public sealed class SidecarConnector(ILogger<SidecarConnector> logger)
{
    /// <summary>The target sidecar's socket path, set per request by the invoker.</summary>
    public static readonly HttpRequestOptionsKey<string> SocketPathKey = new("daprllm.sidecar-socket");

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (context.InitialRequestMessage.Options.TryGetValue(SocketPathKey, out var path))
        {
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                logger.LogInformation("Connected to the sidecar at {Endpoint} over unix socket {Path}", context.DnsEndPoint, path);
                return new NetworkStream(unix, ownsSocket: true);
            }
            catch (SocketException e)
            {
                unix.Dispose();
                logger.LogInformation("Unix socket {Path} not reachable ({Error}); using TCP to {Endpoint}", path, e.SocketErrorCode, context.DnsEndPoint);
            }
        }

        // What SocketsHttpHandler does without a callback.
        var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(tcp, ownsSocket: true);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }
}
