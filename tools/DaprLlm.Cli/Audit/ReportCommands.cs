using System.CommandLine;
using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary><c>report</c>: the compliance report as JSON, CSV or HTML (compliance role).</summary>
public static class ReportCommands
{
    public static Command Build(CliGlobals globals, IAnsiConsole console)
    {
        var format = new Option<string>("--format") { Description = "json, csv or html.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "csv", "html");
        var regions = new Option<string?>("--regions") { Description = "Comma-separated regions (several need a key holding them all)." };
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start, UTC unless an offset is given (default: 30 days ago).", CustomParser = ParseInstant };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End, UTC unless an offset is given (default: now).", CustomParser = ParseInstant };
        var output = new Option<string?>("--out") { Description = "Write to this file instead of the console." };
        var report = new Command("report", "Compliance report: requests, refusals, reviews, admin actions, by tenant/region/category.") { format, regions, tenant, from, to, output };
        report.SetAction(async (parse, ct) =>
        {
            using var client = globals.Client(parse);
            var query = new List<string> { "format=" + parse.GetValue(format) };
            if (parse.GetValue(regions) is { } r)
            {
                query.Add("regions=" + Uri.EscapeDataString(r));
            }

            if (parse.GetValue(tenant) is { } t)
            {
                query.Add("tenantId=" + Uri.EscapeDataString(t));
            }

            if (parse.GetValue(from) is { } f)
            {
                query.Add("from=" + Uri.EscapeDataString(f.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (parse.GetValue(to) is { } u)
            {
                query.Add("to=" + Uri.EscapeDataString(u.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
            }

            var response = await client.GetAsync("admin/reports?" + string.Join('&', query), ct);
            if (!response.Ok)
            {
                return CliOutput.Fail(globals.Errors, response);
            }

            return await CliOutput.WriteAsync(console, parse.GetValue(format) == "json" ? CliOutput.Pretty(response) : response.Body, parse.GetValue(output), ct);
        });
        return report;
    }

    // Compliance periods are UTC: a date without an offset is read as UTC, not as the operator's local time.
    private static DateTimeOffset? ParseInstant(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        result.AddError($"'{text}' is not a date: use 2026-12-01 or 2026-12-01T10:00:00Z");
        return null;
    }
}
