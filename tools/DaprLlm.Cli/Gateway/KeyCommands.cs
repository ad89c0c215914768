using System.CommandLine;
using DaprLlm.Cli.Audit;
using Spectre.Console;

namespace DaprLlm.Cli.Gateway;

/// <summary><c>keys dev|create|list|rotate|revoke</c>: tenants' API keys through the gateway's admin API (answers printed as JSON).</summary>
public static class KeyCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var name = new Option<string>("--name") { Description = "A label for the key.", DefaultValueFactory = _ => "default" };
        var keyId = new Argument<string>("key-id") { Description = "The key's id (as listed; never the secret)." };

        var dev = new Command("dev", "Show the local development API key.");
        dev.SetAction((parse, ct) => Call(globals, console, parse, c => c.GetAsync("admin/dev-key", ct), ct));

        var create = new Command("create", "Create a key for a tenant (the full key is shown once).") { tenant, name };
        create.SetAction((parse, ct) => Call(globals, console, parse,
            c => c.PostAsync($"admin/tenants/{Uri.EscapeDataString(parse.GetValue(tenant)!)}/keys", new { name = parse.GetValue(name) }, ct), ct));

        var list = new Command("list", "List a tenant's keys (ids and prefixes only).") { tenant };
        list.SetAction((parse, ct) => Call(globals, console, parse, c => c.GetAsync($"admin/tenants/{Uri.EscapeDataString(parse.GetValue(tenant)!)}/keys", ct), ct));

        var rotate = new Command("rotate", "Issue a new key for the same tenant; the old one is revoked.") { keyId };
        rotate.SetAction((parse, ct) => Call(globals, console, parse, c => c.PostAsync($"admin/keys/{Uri.EscapeDataString(parse.GetValue(keyId)!)}/rotate", null, ct), ct));

        var revoke = new Command("revoke", "Revoke a key.") { keyId };
        revoke.SetAction((parse, ct) => Call(globals, console, parse, c => c.DeleteAsync($"admin/keys/{Uri.EscapeDataString(parse.GetValue(keyId)!)}", ct), ct));

        return new Command("keys", "Tenants' API keys (gateway admin API).") { dev, create, list, rotate, revoke };
    }

    internal static async Task<int> Call(CliGlobals globals, IAnsiConsole console, ParseResult parse, Func<AdminClient, Task<AdminResponse>> call, CancellationToken cancellationToken)
    {
        using var client = globals.Gateway(parse);
        var response = await call(client);
        return response.Ok ? await CliOutput.WriteAsync(console, response.Body.Length == 0 ? "{}" : CliOutput.Pretty(response), null, cancellationToken) : CliOutput.Fail(globals.Errors, response);
    }
}
