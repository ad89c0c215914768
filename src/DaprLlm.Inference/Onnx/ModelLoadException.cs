namespace DaprLlm.Inference.Onnx;

/// <summary>A model folder that cannot be served (missing file, corrupt graph, unsupported layout).</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string message) : base(message) { }

    public ModelLoadException(string message, Exception inner) : base(message, inner) { }
}
