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
        var models = new Option<string?>("--allowed-models") { Description = "Comma-separated models the tenant may use (default: all)." };
        var requestsPerMinute = new Option<int?>("--requests-per-minute") { Description = "Overrides the tier's requests per minute." };
        var tokensPerMinute = new Option<int?>("--tokens-per-minute") { Description = "Overrides the tier's tokens per minute." };
        var tokensPerDay = new Option<long?>("--tokens-per-day") { Description = "Overrides the tier's tokens per day." };
        var concurrent = new Option<int?>("--max-concurrent") { Description = "Overrides the tier's concurrent requests." };
        var create = new Command("create", "Create a tenant.")
        {
            id, tier, homeRegion, regions, streamPolicy, models, requestsPerMinute, tokensPerMinute, tokensPerDay, concurrent,
        };
        create.SetAction((parse, ct) =>
        {
            // Limits are sent only when one is given, so the tier's limits apply otherwise.
            var limits = new
            {
                requestsPerMinute = parse.GetValue(requestsPerMinute),
                tokensPerMinute = parse.GetValue(tokensPerMinute),
                tokensPerDay = parse.GetValue(tokensPerDay),
                maxConcurrentRequests = parse.GetValue(concurrent),
            };
            var anyLimit = limits.requestsPerMinute is not null || limits.tokensPerMinute is not null || limits.tokensPerDay is not null
                || limits.maxConcurrentRequests is not null;
            return KeyCommands.Call(globals, console, parse, c => c.PostAsync("admin/tenants", new
            {
                id = parse.GetValue(id),
                tier = parse.GetValue(tier),
                homeRegion = parse.GetValue(homeRegion),
                allowedRegions = parse.GetValue(regions)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                allowedModels = parse.GetValue(models)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                limits = anyLimit ? limits : null,
                streamingPolicy = parse.GetValue(streamPolicy),
            }, ct), ct);
        });

        return new Command("tenants", "Tenants (gateway admin API).") { list, create };
    }
}
