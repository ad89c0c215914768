using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary><c>audit verify</c> and <c>audit checkpoint</c>.</summary>
public static class AuditCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var region = new Option<string?>("--region") { Description = "Comma-separated regions, verified one after the other (default: every region the key holds)." };
        var verify = new Command("verify", "Walk the hash chain (and archive manifests) and name the first altered, removed or inserted record. Exits 1 when a region is tampered, 64 on a usage error.") { region };
        verify.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var reports = new List<System.Text.Json.JsonElement>();
            var failures = new List<AdminResponse>();
            await CliProgress.ForEachAsync(console, "Verifying", Regions(parse.GetValue(region)), async r =>
            {
                // A region that cannot be verified (no access, timeout) must not hide what the others showed: go on.
                var response = await client.GetAsync("admin/verify" + (r.Length == 0 ? "" : "?region=" + Uri.EscapeDataString(r)), ct);
                if (response.Ok)
                {
                    reports.AddRange(response.Json.GetProperty("regions").EnumerateArray());
                }
                else
                {
                    failures.Add(response);
                }

                return true;
            });
            if (reports.Count == 0 && failures.Count > 0)
            {
                return CliOutput.Fail(globals.Errors, failures[0]);
            }

            var table = new Table().AddColumns("Region", "Result", "Records", "Checkpoints", "Segments", "Unsigned tail", "First problem");
            var ok = true;
            foreach (var report in reports)
            {
                var good = report.GetProperty("ok").GetBoolean();
                ok &= good;
                var problem = report.GetProperty("firstProblem");
                table.AddRow(
                    new Text(report.GetProperty("region").GetString() ?? ""),
                    new Markup(good ? "[green]ok[/]" : "[red]TAMPERED[/]"),
                    new Text(report.GetProperty("recordsChecked").GetInt64().ToString(CultureInfo.InvariantCulture)),
                    new Text(report.GetProperty("checkpointsChecked").GetInt32().ToString(CultureInfo.InvariantCulture)),
                    new Text(report.GetProperty("segmentsChecked").GetInt32().ToString(CultureInfo.InvariantCulture)),
                    new Text(report.GetProperty("unsignedTail").GetInt64().ToString(CultureInfo.InvariantCulture)),
                    new Text(problem.ValueKind == System.Text.Json.JsonValueKind.Object
                        ? $"seq {problem.GetProperty("seq").GetInt64()} {problem.GetProperty("kind").GetString()}: {problem.GetProperty("detail").GetString()}"
                        : "-"));
            }

            console.Write(table);
            var failed = failures.Select(f => CliOutput.Fail(globals.Errors, f)).ToList();
            // Tampering found is the news (1) even when another region could not be read; then that region's error code.
            return !ok ? 1 : failed.Count > 0 ? failed[0] : 0;
        });

        var checkpoint = new Command("checkpoint", "Sign the current head of each chain now.") { region };
        checkpoint.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var query = parse.GetValue(region) is { } r ? "?region=" + Uri.EscapeDataString(r) : "";
            var response = await client.PostAsync("admin/checkpoint" + query, null, ct);
            return response.Ok ? await CliOutput.WriteAsync(console, CliOutput.Pretty(response), null, ct) : CliOutput.Fail(globals.Errors, response);
        });

        return new Command("audit", "The tamper-evident audit trail.") { verify, checkpoint };
    }

    /// <summary>The regions of a comma list, or one empty entry meaning "every region the key holds".</summary>
    internal static List<string> Regions(string? list) =>
        string.IsNullOrWhiteSpace(list) ? [""] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
