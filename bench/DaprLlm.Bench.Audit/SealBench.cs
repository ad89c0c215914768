using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Ingestion;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Trail;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Bench.Audit;

/// <summary>
/// What sealing a data subject's free text costs at ingestion: <see cref="AuditEntryFactory.BuildAsync"/> (routing, PII
/// masking, pseudonym, subject key read from SQLite, AES-GCM per free-text field) on request.completed events with a
/// user, against the same events without one (masked text stored clear), alternating rounds in one run.
/// </summary>
public static class SealBench
{
    public static async Task RunAsync(int events, int rounds)
    {
        var folder = Path.Combine(Path.GetTempPath(), "daprllm-bench-seal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var options = new AuditOptions { Regions = ["eu"], DefaultRegion = "eu", DataDirectory = folder, ArchiveDirectory = Path.Combine(folder, "archive") };
            options.ApplyDefaults();
            await using var store = new SqliteAuditStore("eu", Path.Combine(folder, "audit-eu.db"));
            await store.InitializeAsync(CancellationToken.None);
            var factory = new AuditEntryFactory(options, new ContentMasker(PiiDetector.Default), new Pseudonymizer("bench-pseudonym-key-0123456789"u8.ToArray()));
            var withUser = Envelopes(events, withUser: true);
            var withoutUser = Envelopes(events, withUser: false);
            await MeasureAsync(factory, store, withUser); // warm-up: JIT, and every subject's key created once
            await MeasureAsync(factory, store, withoutUser);
            var sealedRates = new List<double>();
            var clearRates = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                clearRates.Add(await MeasureAsync(factory, store, withoutUser));
                sealedRates.Add(await MeasureAsync(factory, store, withUser));
            }

            double clear = Median(clearRates), sealedRate = Median(sealedRates);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"entry build, median of {rounds} rounds × {events:N0} events: clear (no user) {clear:N0}/s, sealed (user, 100 subjects) {sealedRate:N0}/s, sealed/clear {sealedRate / clear:0.00}x " +
                $"(per event: clear {1e6 / clear:0.0} µs, sealed {1e6 / sealedRate:0.0} µs)"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<double> MeasureAsync(AuditEntryFactory factory, IAuditStore store, List<CloudEventEnvelope> envelopes)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var envelope in envelopes)
        {
            var decision = await factory.BuildAsync(envelope, _ => store, CancellationToken.None);
            if (decision.Entry is null)
            {
                throw new InvalidOperationException(decision.Error);
            }
        }

        return envelopes.Count / stopwatch.Elapsed.TotalSeconds;
    }

    private static List<CloudEventEnvelope> Envelopes(int count, bool withUser) => Enumerable.Range(0, count).Select(n =>
    {
        var data = JsonSerializer.SerializeToElement(new
        {
            requestId = $"req-{n}", model = "daprllm-demo", outcome = "completed", finishReason = "stop", promptTokens = 9, completionTokens = 12,
            tenantId = "eu-corp", region = "eu", userId = withUser ? $"user-{n % 100}" : null,
            prompt = "Explain how my address jane.doe@example.com is masked", completion = "Sure. Here is a short answer to your question.",
        });
        return new CloudEventEnvelope($"evt-{withUser}-{n}", CloudEventEnvelope.DaprDefaultType, "gateway", "request.completed", DateTimeOffset.UnixEpoch, data);
    }).ToList();

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
