using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Rows prefilled together in one ONNX Runtime call, handed from the prefill thread to the decode thread. Their
/// KV ([n, H, Length, hd], left-padded) is shared until the decode thread copies it into the batch and frees it.
/// </summary>
internal sealed class PrefillGroup(OrtValue[] kv, int length) : IDisposable
{
    public OrtValue[] Kv { get; } = kv;

    /// <summary>Padded prompt length of <see cref="Kv"/>.</summary>
    public int Length { get; } = length;

    public List<BatchRow> Rows { get; } = [];

    public void Dispose()
    {
        foreach (var v in Kv)
        {
            v.Dispose();
        }
    }
}
