using System.CommandLine;
using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary><c>subject export</c> (GDPR access) and <c>subject erase</c> (GDPR erasure by crypto-shredding).</summary>
public static class SubjectCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant id.", Required = true };
        var user = new Option<string>("--user") { Description = "The end user's id as the gateway knows it.", Required = true };
        var region = new Option<string?>("--region") { Description = "Region, when the tenant has no configured one." };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of the console." };
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation." };

        var export = new Command("export", "Every record of a data subject as JSON, with a manifest of record hashes.") { tenant, user, region, output };
        export.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var query = $"admin/subjects/export?tenantId={Uri.EscapeDataString(parse.GetValue(tenant)!)}&userId={Uri.EscapeDataString(parse.GetValue(user)!)}"
                        + (parse.GetValue(region) is { } r ? "&region=" + Uri.EscapeDataString(r) : "");
            var response = await client.GetAsync(query, ct);
            return response.Ok ? await CliOutput.WriteAsync(console, CliOutput.Pretty(response), parse.GetValue(output), ct) : CliOutput.Fail(globals.Errors, response);
        });

        var erase = new Command("erase", "Erase a data subject: destroy their key so every sealed copy is unreadable; recorded in the chain.") { tenant, user, region, yes };
        erase.SetAction(async (parse, ct) =>
        {
            if (!parse.GetValue(yes))
            {
                // Scripts and pipes cannot answer the prompt: say so instead of failing inside it.
                if (!console.Profile.Capabilities.Interactive)
                {
                    globals.Errors.MarkupLine("[red]error[/]: erasure cannot be undone and this terminal cannot confirm it; pass --yes to erase without a prompt");
                    return CliApp.UsageError;
                }

                if (!console.Confirm($"Erase user '{Markup.Escape(parse.GetValue(user)!)}' of tenant '{Markup.Escape(parse.GetValue(tenant)!)}'? This cannot be undone.", false))
                {
                    console.MarkupLine("[yellow]cancelled[/]");
                    return 1;
                }
            }

            using var client = globals.Client(parse);
            var response = await client.PostAsync("admin/subjects/erase", new { tenantId = parse.GetValue(tenant), userId = parse.GetValue(user), region = parse.GetValue(region) }, ct);
            if (!response.Ok)
            {
                return CliOutput.Fail(globals.Errors, response);
            }

            console.MarkupLineInterpolated($"[green]erased[/] subject {response.Json.GetProperty("subject").GetString()} in {response.Json.GetProperty("region").GetString()} (key destroyed: {response.Json.GetProperty("keyDestroyed").GetBoolean()})");
            if (response.Json.TryGetProperty("subjectErasedPublished", out var published) && published.ValueKind == System.Text.Json.JsonValueKind.False)
            {
                // The trail is erased, but caches and review items only purge on the notice: the operator must act.
                globals.Errors.MarkupLine("[red]error[/]: the purge notice (gateway caches, review queue) could not be sent; run the same erase again");
                return 2;
            }

            return 0;
        });

        return new Command("subject", "GDPR operations on one data subject.") { export, erase };
    }
}
