using Dapr.Workflow;

namespace DaprLlm.Sidecar.Tests.Workflows.Samples;

// Deterministic workflows exercising one feature each; grouped in one file because each is a few lines.

/// <summary>One activity with input and output, plus a custom status.</summary>
public sealed class GreetingWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input)
    {
        var greeting = await context.CallActivityAsync<string>(nameof(SayHelloActivity), input);
        context.SetCustomStatus(new { stage = "greeted" });
        return greeting;
    }
}

/// <summary>An activity retried by a WorkflowTaskOptions retry policy.</summary>
public sealed class RetryWorkflow : Workflow<int, int>
{
    public override Task<int> RunAsync(WorkflowContext context, int succeedOnAttempt) =>
        context.CallActivityAsync<int>(nameof(FlakyActivity), succeedOnAttempt,
            new WorkflowTaskOptions(new WorkflowRetryPolicy(maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromMilliseconds(100))));
}

/// <summary>A durable timer; returns the workflow-clock time it waited.</summary>
public sealed class TimerWorkflow : Workflow<int, double>
{
    public override async Task<double> RunAsync(WorkflowContext context, int milliseconds)
    {
        var start = context.CurrentUtcDateTime;
        await context.CreateTimer(TimeSpan.FromMilliseconds(milliseconds));
        return (context.CurrentUtcDateTime - start).TotalMilliseconds;
    }
}

/// <summary>Waits for "approval" (without a timeout when the input is 0, else with that many milliseconds).</summary>
public sealed class ApprovalWorkflow : Workflow<int, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, int timeoutMilliseconds)
    {
        try
        {
            return timeoutMilliseconds == 0
                ? await context.WaitForExternalEventAsync<string>("approval")
                : await context.WaitForExternalEventAsync<string>("approval", TimeSpan.FromMilliseconds(timeoutMilliseconds));
        }
        catch (TaskCanceledException)
        {
            return "timed out";
        }
    }
}

/// <summary>Does an activity first, then waits for "approval": an event raised at start arrives before the wait.</summary>
public sealed class LateWaitWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string gate)
    {
        await context.CallActivityAsync<string>(nameof(GatedActivity), gate);
        return await context.WaitForExternalEventAsync<string>("approval");
    }
}

/// <summary>Calls <see cref="GreetingWorkflow"/> as a child.</summary>
public sealed class ParentWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input)
    {
        var child = await context.CallChildWorkflowAsync<string>(nameof(GreetingWorkflow), input,
            new ChildWorkflowTaskOptions($"{context.InstanceId}-child"));
        return $"parent got: {child}";
    }
}

/// <summary>Fans out N activities and sums their results.</summary>
public sealed class FanOutWorkflow : Workflow<int, int>
{
    public override async Task<int> RunAsync(WorkflowContext context, int count)
    {
        var tasks = Enumerable.Range(1, count).Select(i => context.CallActivityAsync<int>(nameof(SquareActivity), i)).ToList();
        var results = await Task.WhenAll(tasks);
        return results.Sum();
    }
}

/// <summary>Continues as new until the counter reaches 3.</summary>
public sealed class CounterWorkflow : Workflow<int, int>
{
    public override async Task<int> RunAsync(WorkflowContext context, int counter)
    {
        await context.CallActivityAsync<int>(nameof(SquareActivity), counter);
        if (counter < 3)
        {
            context.ContinueAsNew(counter + 1);
            return -1;
        }

        return counter;
    }
}

/// <summary>An activity held by a gate, then a timer, then an event: one kill point each.</summary>
public sealed class RestartWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string gate)
    {
        var first = await context.CallActivityAsync<string>(nameof(GatedActivity), gate);
        await context.CreateTimer(TimeSpan.FromSeconds(2));
        var approval = await context.WaitForExternalEventAsync<string>("approval");
        return $"{first}, then {approval}";
    }
}

/// <summary>
/// The moderation shape: record the request, wait 2 s for a "review decision", escalate, wait again, then
/// fall back to a default decision.
/// </summary>
public sealed class ModerationWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string request)
    {
        await context.CallActivityAsync<string>(nameof(RecordStepActivity), "received");
        try
        {
            return await context.WaitForExternalEventAsync<string>("review decision", TimeSpan.FromSeconds(2));
        }
        catch (TaskCanceledException)
        {
            await context.CallActivityAsync<string>(nameof(RecordStepActivity), "escalated");
        }

        try
        {
            return await context.WaitForExternalEventAsync<string>("review decision", TimeSpan.FromSeconds(2));
        }
        catch (TaskCanceledException)
        {
            await context.CallActivityAsync<string>(nameof(RecordStepActivity), "defaulted");
            return "blocked (default)";
        }
    }
}

/// <summary>Registrations of every sample, as an app would write them in AddDaprWorkflow.</summary>
public static class SampleRegistrations
{
    public static void All(WorkflowRuntimeOptions options)
    {
        options.RegisterWorkflow<GreetingWorkflow>();
        options.RegisterWorkflow<RetryWorkflow>();
        options.RegisterWorkflow<TimerWorkflow>();
        options.RegisterWorkflow<ApprovalWorkflow>();
        options.RegisterWorkflow<LateWaitWorkflow>();
        options.RegisterWorkflow<ParentWorkflow>();
        options.RegisterWorkflow<FanOutWorkflow>();
        options.RegisterWorkflow<CounterWorkflow>();
        options.RegisterWorkflow<RestartWorkflow>();
        options.RegisterWorkflow<ModerationWorkflow>();
        options.RegisterActivity<SayHelloActivity>();
        options.RegisterActivity<SquareActivity>();
        options.RegisterActivity<FlakyActivity>();
        options.RegisterActivity<GatedActivity>();
        options.RegisterActivity<RecordStepActivity>();
    }
}
