namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>Where the committed demo model lies beside the test binaries (copied from the inference project).</summary>
public static class DemoModel
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "daprllm-kjv-small");
}
