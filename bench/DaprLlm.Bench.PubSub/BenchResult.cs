using System.Diagnostics;
using System.Globalization;

namespace DaprLlm.Bench.PubSub;

/// <summary>Throughput and published-to-acknowledged latency of one run.</summary>
public sealed record BenchResult(int Messages, TimeSpan Elapsed, double P50Ms, double P99Ms)
{
    public double PerSecond => Messages / Elapsed.TotalSeconds;

    public static BenchResult From(int messages, TimeSpan elapsed, IEnumerable<long> latencyTicks)
    {
        var sorted = latencyTicks.Order().ToArray();
        double Ms(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000.0 / Stopwatch.Frequency;
        return new BenchResult(messages, elapsed, Ms(0.50), Ms(0.99));
    }

    public string Format(string name) => string.Create(CultureInfo.InvariantCulture, $"{name,-34} {PerSecond,10:N0} {P50Ms,8:N2} {P99Ms,8:N2}");
}
