using System.CommandLine;
using System.Text.Json;
using DaprLlm.Cli.Audit;
using Spectre.Console;

namespace DaprLlm.Cli.Safety;

/// <summary><c>policy show|set</c>: a tenant's safety policy through the safety app's admin API.</summary>
public static class PolicyCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var tenant = new Argument<string>("tenant") { Description = "Tenant id." };
        var show = new Command("show", "The policy in force for a tenant and where it comes from (default or stored, revision).") { tenant };
        show.SetAction(async (parse, ct) =>
        {
            using var client = globals.Safety(parse);
            var response = await client.GetAsync($"admin/policies/{Uri.EscapeDataString(parse.GetValue(tenant)!)}", ct);
            return response.Ok ? await CliOutput.WriteAsync(console, CliOutput.Pretty(response), null, ct) : CliOutput.Fail(globals.Errors, response);
        });

        var file = new Option<string?>("--file") { Description = "A JSON policy update (categories, piiAction, denyTerms, allowTerms)." };
        var json = new Option<string?>("--json") { Description = "The same update inline." };
        var piiAction = new Option<string?>("--pii-action") { Description = "Shortcut for {\"piiAction\": ...}." };
        var set = new Command("set", "Merge an update into a tenant's policy (a new revision).") { tenant, file, json, piiAction };
        set.SetAction(async (parse, ct) =>
        {
            JsonElement body;
            try
            {
                body = parse.GetValue(file) is { } path ? JsonDocument.Parse(await File.ReadAllTextAsync(path, ct)).RootElement.Clone()
                    : parse.GetValue(json) is { } inline ? JsonDocument.Parse(inline).RootElement.Clone()
                    : parse.GetValue(piiAction) is { } action ? JsonSerializer.SerializeToElement(new { piiAction = action })
                    : throw new ArgumentException("give --file, --json or --pii-action");
            }
            catch (Exception e) when (e is JsonException or IOException or ArgumentException)
            {
                globals.Errors.MarkupLineInterpolated($"[red]error[/]: {e.Message}");
                return CliApp.UsageError;
            }

            using var client = globals.Safety(parse);
            var response = await client.PutAsync($"admin/policies/{Uri.EscapeDataString(parse.GetValue(tenant)!)}", body, ct);
            return response.Ok ? await CliOutput.WriteAsync(console, CliOutput.Pretty(response), null, ct) : CliOutput.Fail(globals.Errors, response);
        });

        return new Command("policy", "Tenants' safety policies (safety admin API).") { show, set };
    }
}
