namespace DaprLlm.Inference.Onnx;

/// <summary>
/// ONNX Runtime intra-op threads per session when configuration leaves Inference:IntraOpThreads unset. A chat model
/// runs ORT from two threads of its own (the decode thread and the prefill thread) besides the request handlers.
/// On a replica that sees two cores or fewer, ORT's default (one thread per physical core, spinning at every operator
/// barrier) competes with those threads for the same cores: measured on 2 cores, one intra-op thread kept TTFT under
/// 16 streams within 1.1x of idle where ORT's default gave 2.4-3.9x, with about the same 16-stream throughput at half
/// the CPU per token (bench/RESULTS.md, "Intra-op threads default"). Larger replicas keep ORT's own choice, which this
/// project has not measured against.
/// </summary>
public static class IntraOpThreadPolicy
{
    /// <summary>Processor counts at or below this get one intra-op thread by default.</summary>
    public const int SmallMachineProcessors = 2;

    /// <summary>
    /// The thread count to give ORT (0: ORT decides) and why. <paramref name="processorCount"/> is what the process
    /// may use (<see cref="Environment.ProcessorCount"/> honours affinity and container CPU limits).
    /// </summary>
    public static (int Threads, string Reason) Resolve(int? configured, int processorCount) => configured switch
    {
        0 => (0, "configured 0: ONNX Runtime decides"),
        > 0 => (configured.Value, "configured"),
        _ when processorCount <= SmallMachineProcessors =>
            (1, $"automatic: {processorCount} processor(s) visible, one ORT thread leaves room for the decode and prefill threads"),
        _ => (0, $"automatic: {processorCount} processors visible, ONNX Runtime decides"),
    };
}
