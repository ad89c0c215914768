using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapr.Client;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Bench.Audit;

/// <summary>
/// End-to-end lag from publish to stored: a publisher sidecar publishes request.completed at a steady rate to Redis
/// Streams, the audit sidecar delivers to the audit app process, which masks, chains and commits (synchronous=FULL).
/// Lag per event = the record's commit time (recorded_at) − the time the publisher started publishing it (carried in
/// the payload as sentAtMs), read back from the SQLite file; both clocks are this machine's.
/// </summary>
public static class LagBench
{
    public sealed record Result(string Name, int Rate, int Events, double AchievedRate, double P50, double P90, double P99, double Max);

    public static async Task<Result> RunAsync(AuditSystem system, string name, int rate, TimeSpan duration)
    {
        var events = (int)(rate * duration.TotalSeconds);
        var prefix = $"lag-{name}-{Guid.NewGuid():N}"[..20];
        // Publishes are paced against a schedule (event i is due at i / rate), never awaited one after another, so a
        // slow publish does not lower the offered rate; at most 256 are in flight.
        using var gate = new SemaphoreSlim(256);
        var inFlight = new List<Task>(events);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < events; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            await gate.WaitAsync();
            var id = $"{prefix}-{i}";
            inFlight.Add(PublishAsync(system.Publisher, id, gate));
        }

        await Task.WhenAll(inFlight);
        var achieved = events / clock.Elapsed.TotalSeconds;
        await Deadline.WaitUntilAsync(async () => (await LagsAsync(system, prefix)).Count >= events, TimeSpan.FromMinutes(5), "every event to be stored");
        var lags = await LagsAsync(system, prefix);
        lags.Sort();
        double P(double p) => lags[Math.Clamp((int)Math.Ceiling(p * lags.Count) - 1, 0, lags.Count - 1)];
        return new Result(name, rate, events, achieved, P(0.50), P(0.90), P(0.99), lags[^1]);
    }

    private static async Task PublishAsync(DaprClient publisher, string id, SemaphoreSlim gate)
    {
        try
        {
            var sentAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            // request.completed's fields (RequestCompletedV1) plus the publish time; the audit app stores any extra field as it is.
            await publisher.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted, new
            {
                requestId = id, model = "daprllm-demo", outcome = RequestCompletedV1.Outcomes.Completed, finishReason = "stop", promptTokens = 9, completionTokens = 12,
                inputDecision = "allow", outputDecision = "allow", completedAt = DateTimeOffset.UtcNow, tenantId = "eu-corp", region = "eu", userId = "bench-user",
                prompt = "Explain masking to someone@example.com", completion = "Sure.", sentAtMs,
            });
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task<List<double>> LagsAsync(AuditSystem system, string prefix)
    {
        var path = Path.Combine(system.DataDirectory, "audit-eu.db");
        var lags = new List<double>();
        if (!File.Exists(path))
        {
            return lags;
        }

        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT recorded_at, content FROM records WHERE ref_id LIKE $prefix";
        command.Parameters.AddWithValue("$prefix", prefix + "-%");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            using var content = JsonDocument.Parse(reader.GetString(1));
            lags.Add(reader.GetInt64(0) - content.RootElement.GetProperty("sentAtMs").GetInt64());
        }

        return lags;
    }

    public static string Format(Result r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Name,-10} offered {r.Rate,5:N0}/s achieved {r.AchievedRate,7:N0}/s over {r.Events,6:N0} events: lag p50 {r.P50,6:N0} ms  p90 {r.P90,6:N0} ms  p99 {r.P99,6:N0} ms  max {r.Max,6:N0} ms");
}
