using Dapr.Workflow;

namespace DaprLlm.Sidecar.Tests.Workflows.Samples;

// Small activities used by the conformance workflows; grouped in one file because each is a line or two.

/// <summary>Returns a greeting and counts its executions.</summary>
public sealed class SayHelloActivity(WorkflowProbe probe) : WorkflowActivity<string, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, string input)
    {
        probe.Increment($"hello:{context.InstanceId}");
        return Task.FromResult($"Hello, {input}!");
    }
}

/// <summary>Squares a number.</summary>
public sealed class SquareActivity(WorkflowProbe probe) : WorkflowActivity<int, int>
{
    public override Task<int> RunAsync(WorkflowActivityContext context, int input)
    {
        probe.Increment($"square:{context.InstanceId}");
        return Task.FromResult(input * input);
    }
}

/// <summary>Fails until its attempt number for this instance reaches the input, then returns the attempt number.</summary>
public sealed class FlakyActivity(WorkflowProbe probe) : WorkflowActivity<int, int>
{
    public override Task<int> RunAsync(WorkflowActivityContext context, int succeedOnAttempt)
    {
        var attempt = probe.Increment($"flaky:{context.InstanceId}");
        return attempt < succeedOnAttempt
            ? throw new InvalidOperationException($"flaky failure on attempt {attempt}")
            : Task.FromResult(attempt);
    }
}

/// <summary>Waits until the test opens the gate named by the input, then echoes the input.</summary>
public sealed class GatedActivity(WorkflowProbe probe) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string gate)
    {
        probe.Increment($"gated:{gate}");
        await probe.Gate(gate).Task;
        return $"passed {gate}";
    }
}

/// <summary>Records a moderation step (the "effect" of the moderation workflow).</summary>
public sealed class RecordStepActivity(WorkflowProbe probe) : WorkflowActivity<string, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, string step)
    {
        probe.Increment($"step:{context.InstanceId}:{step}");
        return Task.FromResult(step);
    }
}
