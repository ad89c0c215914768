using System.Net;
using System.Net.Sockets;

namespace DaprLlm.Gateway.Review;

/// <summary>
/// Keeps client webhooks off the gateway's own network. A tenant chooses the URL and the gateway POSTs to it from
/// inside the cluster, so without this a webhook could reach internal services (server-side request forgery). The
/// check runs when the connection is made, on the address actually dialled, so a name that resolves to a public
/// address at registration and to an internal one later (DNS rebinding) is refused too.
/// </summary>
public static class WebhookAddressGuard
{
    /// <summary>Whether an address is on the public internet: not loopback, private, shared, link-local, unique-local,
    /// multicast, documentation or unspecified (IPv4-mapped IPv6 addresses are judged as their IPv4 address).</summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] >= 224                  // this network, private, multicast and reserved
                || (b[0] == 100 && b[1] >= 64 && b[1] < 128)                // shared (carrier-grade NAT)
                || (b[0] == 169 && b[1] == 254)                             // link-local, cloud metadata services
                || (b[0] == 172 && b[1] >= 16 && b[1] < 32)                 // private
                || (b[0] == 192 && b[1] == 168)                             // private
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)             // IETF protocol assignments, documentation
                || (b[0] == 198 && b[1] is 18 or 19)                        // benchmarking
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)               // documentation
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));              // documentation
        }

        var bytes = address.GetAddressBytes();
        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal
            || (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8)); // documentation
    }

    /// <summary>A connect callback that dials only public addresses unless <paramref name="allowPrivateNetworks"/>.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(bool allowPrivateNetworks) =>
        async (context, ct) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
            var allowed = allowPrivateNetworks ? addresses : [.. addresses.Where(IsPublic)];
            if (allowed.Length == 0)
            {
                throw new HttpRequestException($"the webhook host '{host}' has no public address; webhooks may not call private networks");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };

    /// <summary>Whether a webhook URL can be refused when it is given: a literal address that is not public.</summary>
    public static bool IsRefusedLiteral(Uri url, bool allowPrivateNetworks) =>
        !allowPrivateNetworks && (url.IsLoopback || (IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var address) && !IsPublic(address)));
}
