using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary><c>alerts list|ack</c>: the persisted safety alert history of the audit app.</summary>
public static class AlertCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var open = new Option<bool>("--open") { Description = "Only alerts not yet acknowledged." };
        var list = new Command("list", "Raised safety alerts, newest last.") { open };
        list.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var response = await client.GetAsync("admin/alerts" + (parse.GetValue(open) ? "?unacknowledged=true" : ""), ct);
            if (!response.Ok)
            {
                return CliOutput.Fail(globals.Errors, response);
            }

            var table = new Table().AddColumns("Id", "Severity", "Category", "Tenant", "Regions", "Count", "Raised", "Occurrences", "Acknowledged");
            foreach (var alert in response.Json.EnumerateArray())
            {
                var acked = alert.TryGetProperty("acknowledgedBy", out var by) && by.ValueKind == System.Text.Json.JsonValueKind.String ? by.GetString()! : "-";
                table.AddRow(
                    new Text(alert.GetProperty("id").GetString() ?? ""),
                    new Markup(alert.GetProperty("severity").GetString() == "critical" ? "[red]critical[/]" : "[yellow]warning[/]"),
                    new Text(alert.GetProperty("category").GetString() ?? ""),
                    new Text(alert.TryGetProperty("tenantId", out var t) && t.ValueKind == System.Text.Json.JsonValueKind.String ? t.GetString()! : "*"),
                    // An alert saved before regions were recorded lists none: it counts as every region.
                    new Text(alert.TryGetProperty("regions", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.Array && r.GetArrayLength() > 0
                        ? string.Join(",", r.EnumerateArray().Select(e => e.GetString())) : "*"),
                    new Text(alert.GetProperty("count").GetInt64().ToString(CultureInfo.InvariantCulture)),
                    new Text(alert.GetProperty("raisedAt").GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)),
                    new Text(alert.GetProperty("occurrences").GetInt32().ToString(CultureInfo.InvariantCulture)),
                    new Text(acked));
            }

            console.Write(table);
            return 0;
        });

        var ids = new Argument<string[]>("alert-id") { Description = "One or more alert ids.", Arity = ArgumentArity.OneOrMore };
        var ack = new Command("ack", "Acknowledge alerts (saved before the answer; survives restarts).") { ids };
        ack.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var failed = 0;
            await CliProgress.ForEachAsync(console, "Acknowledging", parse.GetValue(ids)!, async id =>
            {
                var response = await client.PostAsync($"admin/alerts/{Uri.EscapeDataString(id)}/ack", null, ct);
                if (!response.Ok)
                {
                    failed = CliOutput.Fail(globals.Errors, response);
                    return false;
                }

                console.MarkupLineInterpolated($"[green]acknowledged[/] {id}");
                return true;
            });
            return failed;
        });

        return new Command("alerts", "Safety alert history (audit app).") { list, ack };
    }
}
