using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>Where the committed demo model lies beside the test binaries (copied from the inference project).</summary>
public static class DemoModel
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "daprllm-kjv-small");

    /// <summary>
    /// Where its rows' padding goes: right, since its attention is the GroupQueryAttention op (tools/demo-model/to_gqa.py),
    /// read from the graph as the service does.
    /// </summary>
    public static KvPadding Padding => OnnxGraph.UsesOperator(Path.Combine(Folder, "model.onnx"), "GroupQueryAttention") ? KvPadding.Right : KvPadding.Left;
}
