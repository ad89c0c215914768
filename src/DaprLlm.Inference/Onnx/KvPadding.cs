namespace DaprLlm.Inference.Onnx;

/// <summary>Where a batch row's padding sits in the KV tensors.</summary>
public enum KvPadding
{
    /// <summary>Before the row's history (attention that takes a full mask: the demo model, torch exports).</summary>
    Left,

    /// <summary>After it: GroupQueryAttention reads a row from position 0 up to its length (ORT GenAI builder exports).</summary>
    Right,
}
