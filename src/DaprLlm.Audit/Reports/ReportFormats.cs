using System.Globalization;
using System.Net;
using System.Text;

namespace DaprLlm.Audit.Reports;

/// <summary>CSV (metric,key,value rows) and a self-contained HTML page with inline SVG bar charts.</summary>
public static class ReportFormats
{
    public static string ToCsv(ComplianceReport report)
    {
        var csv = new StringBuilder("metric,key,value\n");
        void Row(string metric, string key, string value) => csv.Append(Escape(metric)).Append(',').Append(Escape(key)).Append(',').Append(value).Append('\n');
        foreach (var (metric, value) in Scalars(report))
        {
            Row(metric, "", value);
        }

        foreach (var (name, counts) in Breakdowns(report))
        {
            foreach (var (key, value) in counts)
            {
                Row(name, key, Number(value));
            }
        }

        foreach (var usage in report.KeyUsage)
        {
            var key = usage.TenantId + "/" + usage.KeyId;
            Row("key_requests", key, Number(usage.Requests));
            Row("key_prompt_tokens", key, Number(usage.PromptTokens));
            Row("key_completion_tokens", key, Number(usage.CompletionTokens));
        }

        foreach (var hour in report.Hourly)
        {
            var key = hour.Hour.ToString("yyyy-MM-ddTHH:mmZ", CultureInfo.InvariantCulture);
            Row("hourly_requests", key, Number(hour.Requests));
            Row("hourly_incident_rate", key, Rate(hour.IncidentRate));
            Row("hourly_latency_p95_ms", key, Ms(hour.LatencyP95Ms));
        }

        return csv.ToString();
    }

    public static string ToHtml(ComplianceReport report)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>DaprLlm compliance report</title>")
            .Append("<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style></head><body>")
            .Append("<h1>Compliance report</h1><p>Regions: ").Append(Encode(string.Join(", ", report.Regions)))
            .Append(" · from ").Append(Encode(report.From.ToString("u", CultureInfo.InvariantCulture)))
            .Append(" to ").Append(Encode(report.To.ToString("u", CultureInfo.InvariantCulture))).Append("</p>");
        // An empty value (no samples, nothing due) reads as "n/a" on the page; the CSV keeps it empty.
        Table(html, ["Metric", "Value"], Scalars(report).Select(s => new[] { s.Metric.Replace('_', ' '), s.Value.Length == 0 ? "n/a" : s.Value }));

        html.Append("<h2>Safety incidents beside latency, per hour</h2>");
        Table(html, ["Hour (UTC)", "Requests", "Incident rate", "Latency p95 (ms)"], report.Hourly.Select(h => new[]
        {
            h.Hour.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), Number(h.Requests), h.IncidentRate.ToString("P2", CultureInfo.InvariantCulture), Ms(h.LatencyP95Ms),
        }));

        html.Append("<h2>Key usage</h2>");
        Table(html, ["Tenant", "Key", "Requests", "Prompt tokens", "Completion tokens"], report.KeyUsage.Select(k => new[]
        {
            k.TenantId, k.KeyId, Number(k.Requests), Number(k.PromptTokens), Number(k.CompletionTokens),
        }));

        html.Append("<h2>top rule hits</h2>").Append(BarChart(report.TopRuleHits.Select(r => (r.Rule, r.Count)).ToList()));
        foreach (var (name, counts) in Breakdowns(report))
        {
            html.Append("<h2>").Append(Encode(name.Replace('_', ' '))).Append("</h2>").Append(BarChart(counts.Select(c => (c.Key, c.Value)).ToList()));
        }

        return html.Append("</body></html>").ToString();
    }

    private static IEnumerable<(string Metric, string Value)> Scalars(ComplianceReport r) =>
    [
        ("records", Number(r.Records)), ("requests", Number(r.Requests)), ("requests_received", Number(r.RequestsReceived)),
        ("refused_input", Number(r.RefusedInput)), ("filtered_output", Number(r.FilteredOutput)), ("block_rate", Rate(r.BlockRate)),
        ("reviews_created", Number(r.ReviewsCreated)), ("reviews_decided", Number(r.ReviewsDecided)), ("review_rate", Rate(r.ReviewRate)),
        ("review_sla_decided", Number(r.ReviewSla.Decided)), ("review_sla_within", Number(r.ReviewSla.WithinSla)),
        ("review_sla_breached", Number(r.ReviewSla.Breached)), ("review_sla_compliance", Rate(r.ReviewSla.Compliance)),
        ("review_open_overdue", Number(r.ReviewSla.OpenOverdue)),
        ("review_minutes_p50", Ms(r.ReviewSla.MedianMinutes)), ("review_minutes_p95", Ms(r.ReviewSla.P95Minutes)),
        ("safety_incidents", Number(r.Safety.Incidents)), ("safety_incident_rate", Rate(r.Safety.IncidentRate)),
        ("latency_samples", Number(r.Safety.LatencySamples)), ("latency_p50_ms", Ms(r.Safety.LatencyP50Ms)),
        ("latency_p95_ms", Ms(r.Safety.LatencyP95Ms)), ("latency_p99_ms", Ms(r.Safety.LatencyP99Ms)),
        ("admin_actions", Number(r.AdminActions)), ("erasures", Number(r.Erasures)),
    ];

    private static IEnumerable<(string Name, SortedDictionary<string, long> Counts)> Breakdowns(ComplianceReport report) =>
    [
        ("by_event_type", report.ByEventType), ("by_tenant", report.ByTenant), ("by_region", report.ByRegion),
        ("by_outcome", report.ByOutcome), ("by_category", report.ByCategory),
        ("requests_by_tenant", report.RequestsByTenant), ("requests_by_region", report.RequestsByRegion),
        ("refusals_by_category", report.RefusalsByCategory), ("refusals_by_tenant", report.RefusalsByTenant), ("refusals_by_region", report.RefusalsByRegion),
        ("reviews_by_category", report.ReviewsByCategory), ("reviews_by_tenant", report.ReviewsByTenant), ("reviews_by_region", report.ReviewsByRegion),
        ("moderation_by_action", report.ModerationByAction), ("moderation_api_by_action", report.ModerationApiByAction),
        ("admin_actions_by_action", report.AdminActionsByAction),
        ("rule_hits", new SortedDictionary<string, long>(report.TopRuleHits.ToDictionary(r => r.Rule, r => r.Count), StringComparer.Ordinal)),
    ];

    private static void Table(StringBuilder html, string[] headers, IEnumerable<string[]> rows)
    {
        html.Append("<table><tr>");
        foreach (var header in headers)
        {
            html.Append("<th>").Append(Encode(header)).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
            {
                html.Append("<td>").Append(Encode(cell)).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    private static string BarChart(List<(string Key, long Value)> counts)
    {
        if (counts.Count == 0)
        {
            return "<p>none</p>";
        }

        const int rowHeight = 22, labelWidth = 180, barWidth = 360;
        var max = Math.Max(1, counts.Max(c => c.Value));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{labelWidth + barWidth + 80}\" height=\"{counts.Count * rowHeight + 4}\">");
        var y = 2;
        foreach (var (key, value) in counts)
        {
            var width = (int)Math.Round(barWidth * (double)value / max);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{y + 15}\" font-size=\"13\">{Encode(key)}</text>")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"{labelWidth}\" y=\"{y + 3}\" width=\"{width}\" height=\"{rowHeight - 6}\" fill=\"#3b6fb6\"><title>{Encode(key)}: {value}</title></rect>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + width + 6}\" y=\"{y + 15}\" font-size=\"13\">{value}</text>");
            y += rowHeight;
        }

        return svg.Append("</svg>").ToString();
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Rate(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "";

    private static string Ms(double? value) => value?.ToString("0.##", CultureInfo.InvariantCulture) ?? "";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    // RFC 4180 quoting, and a cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first: event types, rule
    // and key names come from event data) starts with an apostrophe, so it is shown as text (OWASP CSV injection).
    private static string Escape(string text)
    {
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }

        return text.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
    }
}
