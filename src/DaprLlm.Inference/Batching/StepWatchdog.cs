using System.Diagnostics;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Notes when the scheduler's running ONNX Runtime calls (one prefill, one decode step) started, so a call that hangs
/// is seen from outside: health and the catalog read <see cref="Stalled"/>, and it clears once the call returns. A
/// hung native call cannot be interrupted, so reporting it (the gateway then routes away) is all that can be done.
/// </summary>
public sealed class StepWatchdog(TimeSpan timeout)
{
    // Stopwatch timestamps of the running calls; 0 while none runs. One writer each (the prefill or decode thread).
    private long _prefillStarted;
    private long _decodeStarted;

    /// <summary>Test-only: runs on the scheduler thread inside the watched window, so a test can make a step hang.</summary>
    internal Action<string>? OnStep { get; set; }

    public TimeSpan Timeout => timeout;

    public void BeginPrefill() => Begin(ref _prefillStarted, "prefill");

    public void EndPrefill() => Volatile.Write(ref _prefillStarted, 0);

    public void BeginDecode() => Begin(ref _decodeStarted, "decode");

    public void EndDecode() => Volatile.Write(ref _decodeStarted, 0);

    /// <summary>Why the model is stalled (a call running longer than the timeout), or null.</summary>
    public string? Stalled =>
        Check("decode step", Volatile.Read(ref _decodeStarted)) ?? Check("prefill", Volatile.Read(ref _prefillStarted));

    private void Begin(ref long started, string kind)
    {
        Volatile.Write(ref started, Stopwatch.GetTimestamp());
        OnStep?.Invoke(kind);
    }

    private string? Check(string kind, long started)
    {
        if (started == 0)
        {
            return null;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        return elapsed > timeout
            ? $"a {kind} has been running for {elapsed.TotalSeconds:0} s, longer than Inference:StepTimeoutSeconds ({timeout.TotalSeconds:0} s)"
            : null;
    }
}
