using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapr.Client;
using DaprLlm.Audit.Alerts;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>
/// The audit meter ("DaprLlm.Audit") reports ingest (events stored, duplicates, lag), verify results and alert counts.
/// Measurements are told apart from parallel tests by a region and a category used only here.
/// </summary>
public sealed class TelemetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ingest_verify_and_alerts_report_their_measurements()
    {
        var region = "tel" + Guid.NewGuid().ToString("N")[..8];
        var category = "telemetry-" + region;
        var seen = new ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "DaprLlm.Audit")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, value, tags, _) => seen.Enqueue((i.Name, value, Tags(tags))));
        listener.SetMeasurementEventCallback<double>((i, value, tags, _) => seen.Enqueue((i.Name, value, Tags(tags))));
        listener.Start();

        await using var rig = await TrailRig.StartAsync(o =>
        {
            o.Regions.Add(region);
            o.Tenants["tel-corp"] = new TenantPolicy { Region = region };
        });
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString()).ToList();
        foreach (var id in ids)
        {
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = id, tenantId = "tel-corp", prompt = "hello" }, id);
        }

        await rig.IngestAsync(Topics.RequestCompleted, new { requestId = ids[0], tenantId = "tel-corp", prompt = "hello" }, ids[0]);
        Assert.True((await rig.VerifyAsync(region)).Ok);

        var options = new AlertOptions { CriticalCategories = [category] };
        using var dapr = new DaprClientBuilder().UseHttpEndpoint("http://127.0.0.1:9").UseGrpcEndpoint("http://127.0.0.1:9").Build();
        var alerts = new AlertService(options, rig.Time, dapr, NullLogger<AlertService>.Instance);
        alerts.Observe(ContractEvents.Entry(Topics.ModerationDecided, "tel-corp", ContractEvents.Decision("tel-corp", category, "tel-alert", "review"), region));

        List<(string Name, double Value, Dictionary<string, object?> Tags)> Mine(string name) =>
            [.. seen.Where(m => m.Name == name && (Equals(m.Tags.GetValueOrDefault("region"), region) || Equals(m.Tags.GetValueOrDefault("category"), category)))];

        Assert.Equal(5, Mine("audit.events.stored").Sum(m => m.Value));
        Assert.Equal(1, Mine("audit.events.duplicate").Sum(m => m.Value));
        var lag = Mine("audit.ingest.lag");
        Assert.Equal(5, lag.Count);
        Assert.All(lag, m => Assert.InRange(m.Value, 0, 60_000));
        var verify = Assert.Single(Mine("audit.verify.runs"));
        Assert.Equal(true, verify.Tags["ok"]);
        Assert.Equal(5, Mine("audit.verify.records").Sum(m => m.Value));
        var alert = Assert.Single(Mine("audit.alerts.raised"));
        Assert.Equal(Alert.Critical, alert.Tags["severity"]);
    }

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            result[key] = value;
        }

        return result;
    }
}
