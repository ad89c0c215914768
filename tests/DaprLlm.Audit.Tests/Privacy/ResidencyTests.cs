using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>Each record goes only to its tenant's regional store.</summary>
public sealed class ResidencyTests
{
    [Fact]
    public async Task An_eu_tenants_records_never_reach_the_us_store()
    {
        await using var rig = await TrailRig.StartAsync(o =>
        {
            o.Tenants["eu-corp"] = new TenantPolicy { Region = "eu" };
            o.Tenants["us-corp"] = new TenantPolicy { Region = "us" };
        });
        for (var i = 0; i < 20; i++)
        {
            // The event's own region claim never overrides the tenant's configured region.
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = $"eu-{i}", tenantId = "eu-corp", region = "us", userId = "eu-user", prompt = "eu-marker" });
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = $"us-{i}", tenantId = "us-corp", region = "us", userId = "us-user", prompt = "us-marker" });
        }

        var eu = await rig.AllHotAsync("eu");
        var us = await rig.AllHotAsync("us");
        Assert.Equal(20, eu.Count);
        Assert.Equal(20, us.Count);
        Assert.All(eu, r => Assert.Equal("eu-corp", r.Entry.TenantId));
        Assert.All(us, r => Assert.Equal("us-corp", r.Entry.TenantId));
        Assert.DoesNotContain("eu-corp", rig.RawBytesOf("us"), StringComparison.Ordinal);
        Assert.DoesNotContain("eu-marker", rig.RawBytesOf("us"), StringComparison.Ordinal);
        Assert.True((await rig.VerifyAsync("eu")).Ok);
        Assert.True((await rig.VerifyAsync("us")).Ok);
    }

    [Fact]
    public async Task An_event_for_a_region_without_a_store_is_refused_not_misfiled()
    {
        await using var rig = await TrailRig.StartAsync();
        var decision = await rig.IngestAsync(Topics.RequestCompleted, new { requestId = "ap-1", tenantId = "new-corp", region = "ap" });
        Assert.Null(decision.Entry);
        Assert.Equal("ap", decision.Region);
        Assert.Empty(await rig.AllHotAsync("eu"));
        Assert.Empty(await rig.AllHotAsync("us"));
    }
}
