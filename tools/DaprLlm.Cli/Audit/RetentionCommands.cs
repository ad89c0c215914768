using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary><c>retention run</c>: archive records past their hot period and delete expired segments now.</summary>
public static class RetentionCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var region = new Option<string?>("--region") { Description = "Comma-separated regions, run one after the other (default: every region the key holds)." };
        var run = new Command("run", "Run the retention job now (safe to interrupt and rerun).") { region };
        run.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var results = new List<System.Text.Json.JsonElement>();
            var failures = new List<AdminResponse>();
            await CliProgress.ForEachAsync(console, "Retention", AuditCommands.Regions(parse.GetValue(region)), async r =>
            {
                // A region that fails must not hide what the others archived: go on, and report both.
                var response = await client.PostAsync("admin/retention/run" + (r.Length == 0 ? "" : "?region=" + Uri.EscapeDataString(r)), null, ct);
                if (response.Ok)
                {
                    results.AddRange(response.Json.GetProperty("regions").EnumerateArray());
                }
                else
                {
                    failures.Add(response);
                }

                return true;
            });
            if (results.Count == 0 && failures.Count > 0)
            {
                return CliOutput.Fail(globals.Errors, failures[0]);
            }

            var table = new Table().AddColumns("Region", "Segments archived", "Records archived", "Segments deleted");
            foreach (var result in results)
            {
                table.AddRow(result.GetProperty("region").GetString() ?? "",
                    result.GetProperty("segmentsArchived").GetInt32().ToString(CultureInfo.InvariantCulture),
                    result.GetProperty("recordsArchived").GetInt64().ToString(CultureInfo.InvariantCulture),
                    result.GetProperty("segmentsDeleted").GetInt32().ToString(CultureInfo.InvariantCulture));
            }

            console.Write(table);
            var failed = failures.Select(f => CliOutput.Fail(globals.Errors, f)).ToList();
            return failed.Count > 0 ? failed[0] : 0;
        });
        return new Command("retention", "Hot → archive → deletion lifecycle of the audit trail.") { run };
    }
}
