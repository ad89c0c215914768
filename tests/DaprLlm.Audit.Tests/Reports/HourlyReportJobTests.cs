using System.Text.Json;
using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Tests.Reports;

/// <summary>The hourly report job on a fake clock over the real trail: finished hours only, per region, once, resumable.</summary>
public sealed class HourlyReportJobTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Writes_each_finished_hour_once_per_region_and_rewrites_an_interrupted_one()
    {
        string reports = "";
        await using var rig = await TrailRig.StartAsync(o =>
        {
            reports = Path.Combine(o.DataDirectory, "..", "reports");
            o.ReportDirectory = reports;
            o.ReportCatchUpHours = 2;
        });
        var job = new HourlyReportJob(rig.Options, rig.Time);
        rig.Time.Advance(TimeSpan.FromMinutes(10)); // 00:10
        for (var i = 0; i < 3; i++)
        {
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = $"h{i}", tenantId = "acme", outcome = i == 0 ? "refused_input" : "completed" });
        }

        // Recorded in this hour, happened in the one before (a late delivery): it belongs to this hour's report.
        await rig.IngestAsync(Topics.RequestCompleted, new { requestId = "late", tenantId = "acme", outcome = "completed" }, time: rig.Time.GetUtcNow().AddMinutes(-40));

        // 01:00:30: the 00:00 hour is inside its grace period; only the two catch-up hours before it are written.
        rig.Time.Advance(TimeSpan.FromSeconds(50 * 60 + 30));
        var first = await job.RunDueAsync(rig.Runtime.Writers.Values, Ct);
        Assert.Equal(4, first.Count); // two hours × two regions
        Assert.DoesNotContain(first, p => p.Contains(HourlyReportJob.FileStem(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)), StringComparison.Ordinal));

        rig.Time.Advance(TimeSpan.FromMinutes(1)); // 01:01:30
        var second = await job.RunDueAsync(rig.Runtime.Writers.Values, Ct);
        Assert.Equal(2, second.Count);
        var eu = Assert.Single(second, p => p.Contains(Path.Combine("reports", "eu"), StringComparison.Ordinal));
        Assert.EndsWith("report-20260301T00Z.json", eu, StringComparison.Ordinal);
        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(eu, Ct)))
        {
            Assert.Equal(4, report.RootElement.GetProperty("requests").GetInt64());
            Assert.Equal(1, report.RootElement.GetProperty("refusedInput").GetInt64());
            // One row, this hour: rows are grouped by the recorded time the hour was selected by.
            var row = Assert.Single(report.RootElement.GetProperty("hourly").EnumerateArray());
            Assert.Equal(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), row.GetProperty("hour").GetDateTimeOffset());
            Assert.Equal(4, row.GetProperty("requests").GetInt64());
            Assert.Equal(["eu"], report.RootElement.GetProperty("regions").EnumerateArray().Select(r => r.GetString()));
        }

        Assert.True(File.Exists(Path.ChangeExtension(eu, ".html")));
        Assert.Contains("requests,,4", await File.ReadAllTextAsync(Path.ChangeExtension(eu, ".csv"), Ct), StringComparison.Ordinal);
        var us = Assert.Single(second, p => p.Contains(Path.Combine("reports", "us"), StringComparison.Ordinal));
        using (var report = JsonDocument.Parse(await File.ReadAllTextAsync(us, Ct)))
        {
            Assert.Equal(0, report.RootElement.GetProperty("requests").GetInt64());
        }

        // A rerun (a restart) writes nothing new; a run cut off before its JSON (the completion mark) is redone.
        Assert.Empty(await job.RunDueAsync(rig.Runtime.Writers.Values, Ct));
        var written = await File.ReadAllTextAsync(eu, Ct);
        File.Delete(eu);
        await File.WriteAllTextAsync(eu + ".tmp", "{\"partial", Ct);
        Assert.Equal([eu], await job.RunDueAsync(rig.Runtime.Writers.Values, Ct));
        Assert.Equal(written, await File.ReadAllTextAsync(eu, Ct));
        Assert.False(File.Exists(eu + ".tmp"));
    }
}
