using System.Globalization;
using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Reports;

/// <summary>
/// Writes the compliance report of every finished hour, per region, as <c>{region}/report-yyyyMMddTHHZ.{json,csv,html}</c>.
/// Idempotent and restart-safe: an hour is done when its JSON exists (written last, through a temporary name), so a
/// crash mid-hour leaves it to the next run, and a restart fills in the hours it missed (up to ReportCatchUpHours).
/// </summary>
public sealed class HourlyReportJob(AuditOptions options, TimeProvider time)
{
    /// <summary>Records may still arrive for a just-finished hour; its report waits this long.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string FileStem(DateTimeOffset hour) => "report-" + hour.UtcDateTime.ToString("yyyyMMdd'T'HH'Z'", CultureInfo.InvariantCulture);

    public string DirectoryFor(string region) => Path.Combine(options.ReportDirectory, region);

    /// <summary>Writes the missing reports of finished hours; returns the JSON paths written.</summary>
    public async Task<List<string>> RunDueAsync(IEnumerable<ChainWriter> writers, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lastDone = Floor(now - Grace) - TimeSpan.FromHours(1);
        var written = new List<string>();
        foreach (var writer in writers)
        {
            var folder = DirectoryFor(writer.Store.Region);
            Directory.CreateDirectory(folder);
            var missing = new List<DateTimeOffset>();
            for (var hour = lastDone - TimeSpan.FromHours(options.ReportCatchUpHours - 1); hour <= lastDone; hour += TimeSpan.FromHours(1))
            {
                if (!File.Exists(Path.Combine(folder, FileStem(hour)) + ".json"))
                {
                    missing.Add(hour);
                }
            }

            if (missing.Count == 0)
            {
                continue;
            }

            // One pass over the hot store for all the missing hours, not one per hour.
            var byHour = missing.ToDictionary(h => h.ToUnixTimeMilliseconds() / 3_600_000, _ => new List<AuditRecord>());
            await foreach (var record in writer.Store.ReadAsync(1, long.MaxValue, cancellationToken))
            {
                if (byHour.TryGetValue(record.RecordedAtMs / 3_600_000, out var records))
                {
                    records.Add(record);
                }
            }

            foreach (var hour in missing)
            {
                var report = ComplianceReportBuilder.Aggregate([writer.Store.Region], hour, hour.AddHours(1), byHour[hour.ToUnixTimeMilliseconds() / 3_600_000]);
                var stem = Path.Combine(folder, FileStem(hour));
                await WriteAsync(stem + ".csv", ReportFormats.ToCsv(report), cancellationToken);
                await WriteAsync(stem + ".html", ReportFormats.ToHtml(report), cancellationToken);
                await WriteAsync(stem + ".json", JsonSerializer.Serialize(report, Json), cancellationToken);
                written.Add(stem + ".json");
            }
        }

        return written;
    }

    private static DateTimeOffset Floor(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerHour, TimeSpan.Zero);

    private static async Task WriteAsync(string path, string text, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }
}
