using System.Collections;
using DaprLlm.AppHost.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>The AppHost never hands a sidecar a port its own endpoints will bind after the picks.</summary>
public sealed class FreePortTests
{
    [Fact]
    public void The_apphost_s_own_endpoint_ports_are_reserved()
    {
        var environment = new Hashtable
        {
            ["ASPNETCORE_URLS"] = "http://localhost:15080;https://+:15081",
            ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = "http://localhost:19080",
            ["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = "http://localhost:25080",
            ["UNRELATED_URL"] = "http://localhost:26000",
        };

        Assert.Equal([15080, 15081, 19080, 25080], FreePort.ReservedPorts(environment).Order());
    }

    [Fact]
    public void Picks_are_distinct_and_outside_the_ephemeral_range_and_the_launch_profile_ports()
    {
        var picks = Enumerable.Range(0, 200).Select(_ => FreePort.Next()).ToList();
        Assert.Equal(picks.Count, picks.Distinct().Count());
        Assert.All(picks, p => Assert.InRange(p, 21_000, 32_767));
        Assert.DoesNotContain(20080, picks);
    }
}
