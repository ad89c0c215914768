using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Routing;

/// <summary>
/// Data residency: the inference replicas a tenant may reach, home region first, then its other allowed regions.
/// Regions outside the tenant's list are never returned, so a failure there never leaves the region.
/// </summary>
public sealed class InferenceRouter(IOptions<RoutingOptions> options)
{
    public IReadOnlyList<(string Region, string AppId)> Candidates(Tenant tenant)
    {
        var map = options.Value.InferenceByRegion;
        var list = new List<(string, string)>(tenant.AllowedRegions.Count);
        if (map.TryGetValue(tenant.HomeRegion, out var home) && tenant.AllowedRegions.Contains(tenant.HomeRegion))
        {
            list.Add((tenant.HomeRegion, home));
        }

        foreach (var region in tenant.AllowedRegions)
        {
            if (region != tenant.HomeRegion && map.TryGetValue(region, out var appId))
            {
                list.Add((region, appId));
            }
        }

        return list;
    }
}
