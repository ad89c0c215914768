using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DaprLlm.AppHost.Infrastructure;

/// <summary>
/// Picks free loopback ports at start. Sidecars and apps need each other's ports as plain numbers
/// (daprd's --app-port, the SDK's DAPR_HTTP_PORT), so they are fixed before any process starts.
/// Ports come from below Linux's ephemeral range (32768+): a port from that range can be taken as the
/// source port of some outgoing connection between being picked and being bound. They also never land on the
/// AppHost's own endpoints (dashboard, OTLP, resource service: 15080, 19080, 20080 in launchSettings.json, or
/// whatever its environment names): those are bound after the picks, so a free-looking one was once handed to
/// the gateway's sidecar, which then could not start.
/// </summary>
public static class FreePort
{
    private const int LowestPort = 21_000;
    private const int HighestPort = 32_000;

    private static readonly string[] OwnEndpointVariables =
    [
        "ASPNETCORE_URLS", "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL",
        "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL", "DOTNET_DASHBOARD_OTLP_ENDPOINT_URL", "DOTNET_RESOURCE_SERVICE_ENDPOINT_URL",
    ];

    private static readonly ConcurrentDictionary<int, byte> HandedOut =
        new(ReservedPorts(Environment.GetEnvironmentVariables()).Select(port => KeyValuePair.Create(port, (byte)0)));

    /// <summary>The ports of the AppHost's own endpoints named in <paramref name="environment"/> (URL lists split on ';').</summary>
    public static IReadOnlyList<int> ReservedPorts(System.Collections.IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var ports = new List<int>();
        foreach (var name in OwnEndpointVariables)
        {
            foreach (var url in (environment[name] as string ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (Uri.TryCreate(url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri))
                {
                    ports.Add(uri.Port);
                }
            }
        }

        return ports;
    }

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
