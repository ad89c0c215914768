namespace DaprLlm.Inference.Onnx;

/// <summary>
/// Rows from which a decode step runs as two concurrent halves (<see cref="OnnxDecoder.SplitStepRows"/>) when
/// configuration leaves Inference:SplitStepRows unset. With one intra-op thread (the automatic choice on two cores,
/// <see cref="IntraOpThreadPolicy"/>) a step uses one core; a batch of 8 or more rows has enough work for the second.
/// Measured on an otherwise idle 2-core machine: 16 streams made 6,000-8,100 tok/s split against 4,200-4,700 unsplit,
/// TTFT under load unchanged (bench/RESULTS.md, "Split steps by default"). Where ONNX Runtime runs its own thread pool
/// (more cores, or a configured thread count other than 1) it already spreads a step over the cores: no split.
/// </summary>
public static class SplitStepPolicy
{
    /// <summary>Rows from which the automatic setting splits a step.</summary>
    public const int AutomaticRows = 8;

    /// <summary>The rows to give the decoder (0: never split) and why; <paramref name="intraOpThreads"/> is the resolved count.</summary>
    public static (int Rows, string Reason) Resolve(int? configured, int processorCount, int intraOpThreads) => configured switch
    {
        0 => (0, "configured 0: never"),
        > 0 => (configured.Value, "configured"),
        _ when intraOpThreads == 1 && processorCount >= 2 =>
            (AutomaticRows, $"automatic: one intra-op thread and {processorCount} processors visible, a batched step's second half runs on another core"),
        _ when intraOpThreads == 1 => (0, "automatic: one processor visible, never"),
        _ => (0, "automatic: ONNX Runtime's own threads spread a step over the cores, never"),
    };
}
