using Dapr.Workflow;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Workflows.Samples;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// Two apps hosting workflows on one Redis store: state is scoped by app id; cross-app activities and child
/// workflows run on their target app's worker.
/// </summary>
public sealed class WorkflowRoutingTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task Runs_cross_app_activities_and_children_on_the_target_app_and_keeps_instances_apart()
    {
        using var shared = new TempFolder("daprllm-wf-shared");
        await using var orders = await WorkflowHost.StartAsync("wf-route-orders", o =>
        {
            o.RegisterWorkflow<OrderWorkflow>();
            o.RegisterWorkflow<GreetingWorkflow>();
            o.RegisterActivity<SayHelloActivity>();
        }, WorkflowStoreKind.Redis, redis.Address, shared);
        await using var shipping = await WorkflowHost.StartAsync(OrderWorkflow.ShippingAppId, o =>
        {
            o.RegisterWorkflow<GreetingWorkflow>();
            o.RegisterWorkflow<PackWorkflow>();
            o.RegisterActivity<ShipActivity>();
            o.RegisterActivity<SayHelloActivity>();
        }, WorkflowStoreKind.Redis, redis.Address, shared);
        var id = $"order-{Guid.NewGuid():N}";

        var order = await orders.RunAsync(nameof(OrderWorkflow), id, "book");
        // The same instance id in the other app is another instance (daprd scopes workflow state by app id).
        var greeting = await shipping.RunAsync(nameof(GreetingWorkflow), id, "shipper");
        var ordersView = await orders.Client.GetWorkflowStateAsync(id, true, TestContext.Current.CancellationToken);

        Assert.Equal(WorkflowRuntimeStatus.Completed, order.RuntimeStatus);
        Assert.Equal("Hello, book! / shipped book / packed (shipped book box)", order.ReadOutputAs<string>());
        Assert.Equal(1, shipping.Probe.Count($"ship:{id}"));
        Assert.Equal(1, shipping.Probe.Count($"ship:{id}-pack"));
        var child = await shipping.Client.GetWorkflowStateAsync($"{id}-pack", true, TestContext.Current.CancellationToken);
        Assert.Equal(nameof(PackWorkflow), child!.WorkflowName);
        Assert.False((await orders.Client.GetWorkflowStateAsync($"{id}-pack", false, TestContext.Current.CancellationToken))?.Exists ?? false);
        Assert.Equal(0, orders.Probe.Count($"ship:{id}"));
        Assert.Equal(1, orders.Probe.Count($"hello:{id}"));
        Assert.Equal(1, shipping.Probe.Count($"hello:{id}"));
        Assert.Equal("Hello, shipper!", greeting.ReadOutputAs<string>());
        Assert.Equal(nameof(OrderWorkflow), ordersView!.WorkflowName);
    }

    [Fact]
    public async Task Each_of_many_concurrent_cross_app_activities_runs_once()
    {
        // A completion that lands while the target's poll holds an older read of the shared queue used to run
        // that activity a second time; many overlapping completions make that window likely.
        const int parcels = 100;
        using var shared = new TempFolder("daprllm-wf-shared");
        await using var orders = await WorkflowHost.StartAsync("wf-fanout-orders",
            o => o.RegisterWorkflow<FanOutShipWorkflow>(), WorkflowStoreKind.Redis, redis.Address, shared);
        await using var shipping = await WorkflowHost.StartAsync(OrderWorkflow.ShippingAppId,
            o => o.RegisterActivity<ShipParcelActivity>(), WorkflowStoreKind.Redis, redis.Address, shared);

        for (var round = 0; round < 3; round++)
        {
            var id = $"fanout-{Guid.NewGuid():N}";
            var state = await orders.RunAsync(nameof(FanOutShipWorkflow), id, parcels);

            Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
            Assert.Equal(parcels, state.ReadOutputAs<int>());
            var runs = Enumerable.Range(0, parcels).Select(p => shipping.Probe.Count($"parcel:{id}:{p}")).ToArray();
            Assert.All(runs, count => Assert.Equal(1, count));
        }
    }
}
