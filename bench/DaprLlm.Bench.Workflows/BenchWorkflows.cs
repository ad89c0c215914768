using Dapr.Workflow;

namespace DaprLlm.Bench.Workflows;

// The measured workflows and their activity; grouped in one file because each is a few lines.

/// <summary>The activity's work, callable directly so the bench can compare it with a scheduled activity.</summary>
public static class Step
{
    /// <summary>Trivial, allocation-light work: the bench measures the orchestration cost, not the activity's.</summary>
    public static int Apply(int input) => unchecked((input * 31) + 7);
}

/// <summary>Applies <see cref="Step"/> once.</summary>
public sealed class StepActivity : WorkflowActivity<int, int>
{
    public override Task<int> RunAsync(WorkflowActivityContext context, int input) => Task.FromResult(Step.Apply(input));
}

/// <summary>Three sequential activities.</summary>
public sealed class ThreeStepWorkflow : Workflow<int, int>
{
    public override async Task<int> RunAsync(WorkflowContext context, int input)
    {
        var a = await context.CallActivityAsync<int>(nameof(StepActivity), input);
        var b = await context.CallActivityAsync<int>(nameof(StepActivity), a);
        return await context.CallActivityAsync<int>(nameof(StepActivity), b);
    }
}

/// <summary>No activity: its latency is the baseline for start → completion without activity round trips.</summary>
public sealed class EmptyWorkflow : Workflow<int, int>
{
    public override Task<int> RunAsync(WorkflowContext context, int input) => Task.FromResult(input);
}
