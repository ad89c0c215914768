using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DaprLlm.AppHost.Infrastructure;

/// <summary>
/// Picks free loopback ports at start. Sidecars and apps need each other's ports as plain numbers
/// (daprd's --app-port, the SDK's DAPR_HTTP_PORT), so they are fixed before any process starts.
/// Ports come from below Linux's ephemeral range (32768+): a port from that range can be taken as the
/// source port of some outgoing connection between being picked and being bound.
/// </summary>
public static class FreePort
{
    private const int LowestPort = 20_000;
    private const int HighestPort = 32_000;
    private static readonly ConcurrentDictionary<int, byte> HandedOut = new();

    public static int Next()
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(LowestPort, HighestPort);
            if (IsFree(port) && HandedOut.TryAdd(port, 0))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free port between {LowestPort} and {HighestPort}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
