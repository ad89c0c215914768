using System.Net;
using System.Net.Sockets;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Free loopback ports for processes that need their port before they start.</summary>
public static class Ports
{
    public static int GetFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
