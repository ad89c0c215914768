using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

/// <summary>
/// --stalls: the runtime events of one gateway process, live over EventPipe (GC pauses with their generation,
/// thread-pool thread injection, lock contention over 1 ms), with UTC times, so the bursts of slow requests can be
/// put next to what the process was doing when they were sent. dotnet-counters' 1 s resolution cannot do that.
/// </summary>
sealed class StallTrace : IDisposable
{
    /// <summary>One runtime event: when it began (UTC), how long it lasted (0 for points in time), what it was.</summary>
    public sealed record Event(DateTime Start, double Ms, string What);

    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Thread _reader;
    private readonly ConcurrentQueue<Event> _events = new();

    private StallTrace(int pid)
    {
        var keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.Threading | ClrTraceEventParser.Keywords.Contention);
        _session = new DiagnosticsClient(pid).StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, keywords)], requestRundown: false);
        _source = new EventPipeEventSource(_session.EventStream);
        var clr = _source.Clr;
        DateTime? suspended = null;
        var generation = -1;
        var reason = "";
        clr.GCSuspendEEStart += e => suspended = e.TimeStamp.ToUniversalTime();
        clr.GCStart += e => (generation, reason) = (e.Depth, e.Reason.ToString());
        clr.GCRestartEEStop += e =>
        {
            // The pause the application sees: from the suspension's start to the restart's end.
            if (suspended is { } s)
            {
                var end = e.TimeStamp.ToUniversalTime();
                _events.Enqueue(new Event(s, (end - s).TotalMilliseconds, generation >= 0 ? $"GC gen{generation} ({reason})" : "runtime suspension"));
                suspended = null;
                generation = -1;
            }
        };
        clr.ThreadPoolWorkerThreadAdjustmentAdjustment += e =>
            _events.Enqueue(new Event(e.TimeStamp.ToUniversalTime(), 0, $"thread pool -> {e.NewWorkerThreadCount} threads ({e.Reason})"));
        clr.ContentionStop += e =>
        {
            // Lock waits of 1 ms or more (shorter ones are ordinary and frequent).
            var ms = e.DurationNs / 1e6;
            if (ms >= 1)
            {
                _events.Enqueue(new Event(e.TimeStamp.ToUniversalTime().AddMilliseconds(-ms), ms, "lock contention"));
            }
        };
        _reader = new Thread(() =>
        {
            try
            {
                _source.Process();
            }
            catch (Exception)
            {
                // The session ends when the bench stops it or the gateway exits.
            }
        }) { IsBackground = true, Name = "stall-trace" };
        _reader.Start();
    }

    public static StallTrace Start(int pid) => new(pid);

    public IReadOnlyList<Event> Between(DateTime from, DateTime to) =>
        _events.Where(e => e.Start.AddMilliseconds(e.Ms) >= from && e.Start <= to).OrderBy(e => e.Start).ToList();

    public void Dispose()
    {
        try
        {
            _session.Stop();
        }
        catch (Exception)
        {
        }

        _reader.Join(TimeSpan.FromSeconds(5));
        _source.Dispose();
        _session.Dispose();
    }

    /// <summary>The measured window's runtime figures: GC count and pauses by generation, thread-pool adjustments.</summary>
    public string Summary(DateTime from, DateTime to)
    {
        var events = Between(from, to);
        var gcs = events.Where(e => e.What.StartsWith("GC", StringComparison.Ordinal)).ToList();
        var byGen = gcs.GroupBy(e => e.What.Split(' ')[1]).OrderBy(g => g.Key).Select(g => string.Create(CultureInfo.InvariantCulture,
            $"{g.Key} x{g.Count()} (pause sum {g.Sum(e => e.Ms):0.0} ms, max {g.Max(e => e.Ms):0.0})"));
        var pool = events.Count(e => e.What.StartsWith("thread pool", StringComparison.Ordinal));
        var locks = events.Where(e => e.What == "lock contention").ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"runtime: {(gcs.Count == 0 ? "no GC" : string.Join(", ", byGen))}; thread-pool adjustments {pool}; lock waits >= 1 ms {locks.Count}{(locks.Count > 0 ? $" (max {locks.Max(e => e.Ms):0.0} ms)" : "")}");
    }
}
