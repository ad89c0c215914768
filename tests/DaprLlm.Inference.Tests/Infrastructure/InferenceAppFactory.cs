using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>The real inference app in memory on the committed demo model, with per-class setting overrides.</summary>
public class InferenceAppFactory : WebApplicationFactory<Program>
{
    public const string Model = "daprllm-demo";

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>Small batch and queue so a test can fill them.</summary>
public sealed class TinyQueueAppFactory : InferenceAppFactory
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Inference:MaxBatchSize"] = "1",
        ["Inference:QueueDepth"] = "1",
        ["Inference:RetryAfterSeconds"] = "2",
    };
}

/// <summary>A second, lazy catalog entry on the same model folder.</summary>
public sealed class LazyModelAppFactory : InferenceAppFactory
{
    public const string LazyModel = "daprllm-demo-lazy";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        [$"Inference:Models:{LazyModel}:Path"] = "models/daprllm-kjv-small",
        [$"Inference:Models:{LazyModel}:Tier"] = "large",
        [$"Inference:Models:{LazyModel}:Warm"] = "false",
        [$"Inference:Models:{LazyModel}:ExecutionProviders:0"] = "CPU",
        ["Inference:Region"] = "eu",
    };
}

/// <summary>An eu replica whose configuration also names a model limited to the us region.</summary>
public sealed class ResidencyAppFactory : InferenceAppFactory
{
    public const string UsOnlyModel = "daprllm-demo-us";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        [$"Inference:Models:{UsOnlyModel}:Path"] = "models/daprllm-kjv-small",
        [$"Inference:Models:{UsOnlyModel}:Tier"] = "small",
        [$"Inference:Models:{UsOnlyModel}:Warm"] = "false",
        [$"Inference:Models:{UsOnlyModel}:Regions:0"] = "us",
        [$"Inference:Models:{UsOnlyModel}:ExecutionProviders:0"] = "CPU",
        ["Inference:Region"] = "eu",
    };
}

/// <summary>Every streamed request's reader woken at every decode step (no holding between steps).</summary>
public sealed class PerStepStreamAppFactory : InferenceAppFactory
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Inference:StreamIntervalMilliseconds"] = "0",
    };
}

/// <summary>Streamed tokens held for up to a second between reader wake-ups (the longest interval the options allow).</summary>
public sealed class HeldTokensAppFactory : InferenceAppFactory
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Inference:StreamIntervalMilliseconds"] = "1000",
    };
}
