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
        Row("records", "", report.Records.ToString(CultureInfo.InvariantCulture));
        Row("requests", "", report.Requests.ToString(CultureInfo.InvariantCulture));
        Row("refused_input", "", report.RefusedInput.ToString(CultureInfo.InvariantCulture));
        Row("filtered_output", "", report.FilteredOutput.ToString(CultureInfo.InvariantCulture));
        Row("block_rate", "", report.BlockRate.ToString("0.####", CultureInfo.InvariantCulture));
        Row("reviews_created", "", report.ReviewsCreated.ToString(CultureInfo.InvariantCulture));
        Row("reviews_decided", "", report.ReviewsDecided.ToString(CultureInfo.InvariantCulture));
        Row("admin_actions", "", report.AdminActions.ToString(CultureInfo.InvariantCulture));
        Row("erasures", "", report.Erasures.ToString(CultureInfo.InvariantCulture));
        foreach (var (name, counts) in Breakdowns(report))
        {
            foreach (var (key, value) in counts)
            {
                Row(name, key, value.ToString(CultureInfo.InvariantCulture));
            }
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
            .Append(" to ").Append(Encode(report.To.ToString("u", CultureInfo.InvariantCulture))).Append("</p>")
            .Append("<table><tr><th>Metric</th><th>Value</th></tr>");
        foreach (var (name, value) in new (string, string)[]
                 {
                     ("Records", report.Records.ToString(CultureInfo.InvariantCulture)),
                     ("Requests", report.Requests.ToString(CultureInfo.InvariantCulture)),
                     ("Refused (input)", report.RefusedInput.ToString(CultureInfo.InvariantCulture)),
                     ("Filtered (output)", report.FilteredOutput.ToString(CultureInfo.InvariantCulture)),
                     ("Block rate", report.BlockRate.ToString("P2", CultureInfo.InvariantCulture)),
                     ("Reviews created", report.ReviewsCreated.ToString(CultureInfo.InvariantCulture)),
                     ("Reviews decided", report.ReviewsDecided.ToString(CultureInfo.InvariantCulture)),
                     ("Admin actions", report.AdminActions.ToString(CultureInfo.InvariantCulture)),
                     ("Erasures", report.Erasures.ToString(CultureInfo.InvariantCulture)),
                 })
        {
            html.Append("<tr><td>").Append(Encode(name)).Append("</td><td>").Append(Encode(value)).Append("</td></tr>");
        }

        html.Append("</table>");
        foreach (var (name, counts) in Breakdowns(report))
        {
            html.Append("<h2>").Append(Encode(name.Replace('_', ' '))).Append("</h2>").Append(BarChart(counts));
        }

        return html.Append("</body></html>").ToString();
    }

    private static IEnumerable<(string Name, SortedDictionary<string, long> Counts)> Breakdowns(ComplianceReport report) =>
    [
        ("by_event_type", report.ByEventType), ("by_tenant", report.ByTenant), ("by_region", report.ByRegion),
        ("by_outcome", report.ByOutcome), ("by_category", report.ByCategory),
    ];

    private static string BarChart(SortedDictionary<string, long> counts)
    {
        if (counts.Count == 0)
        {
            return "<p>none</p>";
        }

        const int rowHeight = 22, labelWidth = 180, barWidth = 360;
        var max = Math.Max(1, counts.Values.Max());
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

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Escape(string text) => text.Contains(',') || text.Contains('"') || text.Contains('\n') ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
}
