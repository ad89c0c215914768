using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

/// <summary>
/// What moderation adds to a chat request in the running system: the gateway awaits an input check before
/// inference and an output check after it, each a Dapr service invocation to the safety app. Measured through a
/// real sidecar (the gateway's, or any app's), against a baseline invocation of safety's liveness endpoint over the
/// same sidecars, so the difference is the moderation work itself plus its payload. Every text is unique (a
/// counter is appended), so no verdict comes from the cache: the worst case, not the cached one.
/// </summary>
internal static class ModerationOverheadBench
{
    public static async Task RunAsync(string sidecar, List<string> prompts, int seconds)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecar), Timeout = TimeSpan.FromSeconds(30) };
        var baseline = await MeasureAsync("baseline: invoke safety /alive", seconds, _ => http.GetAsync("/v1.0/invoke/safety/method/alive"));
        var counter = 0;
        var input = await MeasureAsync("moderation/input (unique texts)", seconds, i => http.PostAsJsonAsync(
            "/v1.0/invoke/safety/method/moderation/input", new { requestId = "bench", text = prompts[i % prompts.Count] + " #" + Interlocked.Increment(ref counter) }));
        var output = await MeasureAsync("moderation/output (unique texts)", seconds, i => http.PostAsJsonAsync(
            "/v1.0/invoke/safety/method/moderation/output", new { requestId = "bench", text = prompts[(i * 7) % prompts.Count] + " #" + Interlocked.Increment(ref counter) }));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"moderation added per chat request (input + output check, minus two baseline invocations): p50 {input.P50 + output.P50 - (2 * baseline.P50):F2} ms, p99 {input.P99 + output.P99 - (2 * baseline.P99):F2} ms"));
    }

    private static async Task<(double P50, double P99)> MeasureAsync(string name, int seconds, Func<int, Task<HttpResponseMessage>> call)
    {
        for (var i = 0; i < 20; i++)
        {
            using var warm = await call(i);
            warm.EnsureSuccessStatusCode();
        }

        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; clock.Elapsed.TotalSeconds < seconds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await call(i);
            response.EnsureSuccessStatusCode();
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        latencies.Sort();
        var p50 = latencies[latencies.Count / 2];
        var p99 = latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.99))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} calls {latencies.Count,6}  p50 {p50,7:F2} ms  p99 {p99,7:F2} ms"));
        return (p50, p99);
    }
}
