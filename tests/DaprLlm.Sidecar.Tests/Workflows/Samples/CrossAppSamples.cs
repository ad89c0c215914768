using Dapr.Workflow;

namespace DaprLlm.Sidecar.Tests.Workflows.Samples;

/// <summary>Runs one activity locally, one activity and one child workflow on the shipping app (TaskRouter target app id).</summary>
public sealed class OrderWorkflow : Workflow<string, string>
{
    public const string ShippingAppId = "wf-route-shipping";

    public override async Task<string> RunAsync(WorkflowContext context, string order)
    {
        var local = await context.CallActivityAsync<string>(nameof(SayHelloActivity), order);
        var shipped = await context.CallActivityAsync<string>(nameof(ShipActivity), order, new WorkflowTaskOptions(TargetAppId: ShippingAppId));
        var packed = await context.CallChildWorkflowAsync<string>(nameof(PackWorkflow), order,
            new ChildWorkflowTaskOptions(InstanceId: $"{context.InstanceId}-pack", TargetAppId: ShippingAppId));
        return $"{local} / {shipped} / {packed}";
    }
}

/// <summary>Only the shipping app registers it; records which app ran it.</summary>
public sealed class ShipActivity(WorkflowProbe probe) : WorkflowActivity<string, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, string order)
    {
        probe.Increment($"ship:{context.InstanceId}");
        return Task.FromResult($"shipped {order}");
    }
}

/// <summary>Only the shipping app registers it: a child workflow run there for another app's parent.</summary>
public sealed class PackWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string order)
    {
        var shipped = await context.CallActivityAsync<string>(nameof(ShipActivity), $"{order} box");
        return $"packed ({shipped})";
    }
}

/// <summary>Fans out many cross-app activities at once, so completions on the target app overlap its queue polls.</summary>
public sealed class FanOutShipWorkflow : Workflow<int, int>
{
    public override async Task<int> RunAsync(WorkflowContext context, int parcels)
    {
        var shipped = await Task.WhenAll(Enumerable.Range(0, parcels).Select(parcel =>
            context.CallActivityAsync<int>(nameof(ShipParcelActivity), parcel, new WorkflowTaskOptions(TargetAppId: OrderWorkflow.ShippingAppId))));
        return shipped.Length;
    }
}

/// <summary>Only the shipping app registers it; counts each parcel's runs. Finishes after a delay spread over 2 s
/// so that completions keep arriving across several of the target's queue polls.</summary>
public sealed class ShipParcelActivity(WorkflowProbe probe) : WorkflowActivity<int, int>
{
    public override async Task<int> RunAsync(WorkflowActivityContext context, int parcel)
    {
        probe.Increment($"parcel:{context.InstanceId}:{parcel}");
        await Task.Delay(TimeSpan.FromMilliseconds(parcel * 37 % 100 * 20));
        return parcel;
    }
}
