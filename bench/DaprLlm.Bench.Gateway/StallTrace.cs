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
    private readonly ConcurrentQueue<Pause> _pauses = new();
    private readonly ConcurrentDictionary<(int Generation, string Root), long> _marked = new();
    private readonly ConcurrentQueue<(DateTime At, string Type, long Bytes)> _allocations = new();

    /// <summary>One GC pause split: suspension (threads reaching a safe point), collection, whole pause; bytes kept.</summary>
    private sealed record Pause(DateTime Start, int Generation, double SuspendMs, double GcMs, double TotalMs, long PromotedBytes);

    private StallTrace(int pid)
    {
        var keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.Threading | ClrTraceEventParser.Keywords.Contention);
        _session = new DiagnosticsClient(pid).StartEventPipeSession(
            // Verbose adds the allocation tick (one event per ~100 KB allocated, with the type that crossed it): a sampled
            // profile of what the process allocates.
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, keywords)], requestRundown: false);
        _source = new EventPipeEventSource(_session.EventStream);
        var clr = _source.Clr;
        DateTime? suspended = null;
        DateTime? suspendedStop = null;
        DateTime? gcStart = null;
        DateTime? gcEnd = null;
        var generation = -1;
        var reason = "";
        long promoted = -1;
        clr.GCSuspendEEStart += e => (suspended, suspendedStop, gcStart, gcEnd, promoted) = (e.TimeStamp.ToUniversalTime(), null, null, null, -1);
        clr.GCSuspendEEStop += e => suspendedStop = e.TimeStamp.ToUniversalTime();
        clr.GCStart += e => (generation, reason, gcStart) = (e.Depth, e.Reason.ToString(), e.TimeStamp.ToUniversalTime());
        clr.GCStop += e => gcEnd = e.TimeStamp.ToUniversalTime();
        // Bytes the GC kept (promoted out of the collected generations): a gen0 GC's mark and copy work grows with it.
        clr.GCHeapStats += e => promoted = generation switch { 0 => e.TotalPromotedSize0, 1 => e.TotalPromotedSize0 + e.TotalPromotedSize1, _ => e.TotalPromotedSize0 + e.TotalPromotedSize1 + e.TotalPromotedSize2 };
        // What the collection marked from each kind of root (stacks, finalizer queue, handles, older generations through
        // the card table): says whether survivors are requests in flight or objects referenced from long-lived ones.
        clr.GCMarkWithType += e =>
        {
            var kind = e.Type switch { 0 => "stack", 1 => "finalizer", 2 => "handles", 3 => "older", 4 => "sizedref", 5 => "overflow", _ => "type" + e.Type.ToString(CultureInfo.InvariantCulture) };
            _marked.AddOrUpdate((generation, kind), e.Promoted, (_, v) => v + e.Promoted);
        };
        clr.GCRestartEEStop += e =>
        {
            // The pause the application sees: from the suspension's start to the restart's end, split into the time
            // threads took to reach a safe point (suspend), the collection itself (gc) and the rest (restart).
            if (suspended is { } s)
            {
                var end = e.TimeStamp.ToUniversalTime();
                var what = generation >= 0 ? $"GC gen{generation} ({reason})" : "runtime suspension";
                if (suspendedStop is { } ss && gcStart is { } gs && gcEnd is { } ge)
                {
                    _pauses.Enqueue(new Pause(s, generation, (ss - s).TotalMilliseconds, (ge - gs).TotalMilliseconds, (end - s).TotalMilliseconds, promoted));
                    what += string.Create(CultureInfo.InvariantCulture,
                        $" [suspend {(ss - s).TotalMilliseconds:0.0}, gc {(ge - gs).TotalMilliseconds:0.0} ms, kept {promoted / 1024.0:0} KB]");
                }

                _events.Enqueue(new Event(s, (end - s).TotalMilliseconds, what));
                suspended = null;
                generation = -1;
            }
        };
        clr.GCAllocationTick += e => _allocations.Enqueue((e.TimeStamp.ToUniversalTime(), e.TypeName ?? "?", e.AllocationAmount64));
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
        var pauses = _pauses.Where(p => p.Start >= from && p.Start <= to).ToList();
        var split = pauses.GroupBy(p => p.Generation).OrderBy(g => g.Key).Select(g => string.Create(CultureInfo.InvariantCulture,
            $"gen{g.Key}: suspend sum {g.Sum(p => p.SuspendMs):0.0} max {g.Max(p => p.SuspendMs):0.0} ms, collect sum {g.Sum(p => p.GcMs):0.0} max {g.Max(p => p.GcMs):0.0} ms, median pause {Median(g.Select(p => p.TotalMs)):0.0} ms, kept median {Median(g.Select(p => p.PromotedBytes / 1024.0)):0} KB max {g.Max(p => p.PromotedBytes) / 1024.0:0} KB"));
        // Marked bytes by root kind are summed over the whole session (warm-up excluded only by the session's start).
        var marked = _marked.Where(m => m.Key.Generation == 0).OrderByDescending(m => m.Value)
            .Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key.Root} {m.Value / 1024.0:0} KB"));
        var ticks = _allocations.Where(a => a.At >= from && a.At <= to).ToList();
        var sampled = ticks.Sum(a => a.Bytes);
        var top = ticks.GroupBy(a => a.Type).Select(g => (Type: g.Key, Bytes: g.Sum(a => a.Bytes))).OrderByDescending(t => t.Bytes).Take(12)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {100.0 * t.Bytes / sampled:0.0}%"));
        var allocations = ticks.Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $"\n      allocated (sampled, {ticks.Count} ticks, {sampled / 1048576.0:0.0} MB): {string.Join(", ", top)}");
        return string.Create(CultureInfo.InvariantCulture,
            $"runtime: {(gcs.Count == 0 ? "no GC" : string.Join(", ", byGen))}; thread-pool adjustments {pool}; lock waits >= 1 ms {locks.Count}{(locks.Count > 0 ? $" (max {locks.Max(e => e.Ms):0.0} ms)" : "")}") +
            (pauses.Count == 0 ? "" : "\n      GC pauses split: " + string.Join("; ", split) + "; gen0 marked by root (whole trace): " + string.Join(", ", marked)) + allocations;

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(x => x).ToArray();
            return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
        }
    }
}
