using System.Net;
using System.Net.Sockets;

namespace DaprLlm.AppHost.Infrastructure;

/// <summary>
/// Picks free loopback ports at start. Sidecars and apps need each other's ports as plain numbers
/// (daprd's --app-port, the SDK's DAPR_HTTP_PORT), so they are fixed before any process starts.
/// </summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
