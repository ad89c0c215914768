using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>
/// Free loopback ports for processes that need their port before they start. Taken from below Linux's
/// ephemeral range (32768+), which outgoing connections use as source ports: a port from there can be
/// taken between being picked and being bound.
/// </summary>
public static class Ports
{
    private const int LowestPort = 10_000;
    private const int HighestPort = 32_000;
    private static readonly ConcurrentDictionary<int, byte> HandedOut = new();

    public static int GetFree()
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
