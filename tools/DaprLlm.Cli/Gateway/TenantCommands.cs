using System.CommandLine;
using Spectre.Console;

namespace DaprLlm.Cli.Gateway;

/// <summary><c>tenants list|create</c> through the gateway's admin API.</summary>
public static class TenantCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var list = new Command("list", "List tenants.");
        list.SetAction((parse, ct) => KeyCommands.Call(globals, console, parse, c => c.GetAsync("admin/tenants", ct), ct));

        var id = new Argument<string>("tenant-id") { Description = "The new tenant's id." };
        var tier = new Option<string>("--tier") { Description = "free, pro or enterprise.", DefaultValueFactory = _ => "free" };
        tier.AcceptOnlyFromAmong("free", "pro", "enterprise");
        var homeRegion = new Option<string?>("--home-region") { Description = "Home region (eu, us)." };
        var regions = new Option<string?>("--regions") { Description = "Comma-separated allowed regions." };
        var streamPolicy = new Option<string?>("--stream-policy") { Description = "buffer, window or async." };
        var create = new Command("create", "Create a tenant.") { id, tier, homeRegion, regions, streamPolicy };
        create.SetAction((parse, ct) => KeyCommands.Call(globals, console, parse, c => c.PostAsync("admin/tenants", new
        {
            id = parse.GetValue(id),
            tier = parse.GetValue(tier),
            homeRegion = parse.GetValue(homeRegion),
            allowedRegions = parse.GetValue(regions)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            streamingPolicy = parse.GetValue(streamPolicy),
        }, ct), ct));

        return new Command("tenants", "Tenants (gateway admin API).") { list, create };
    }
}
