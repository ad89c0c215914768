using System.Text;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Net.Client;
using GrpcDapr = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>The gRPC actor API (what SDKs other than .NET use) against an app hosting the actor with the .NET SDK.</summary>
public sealed class ActorGrpcTests
{
    [Fact]
    public async Task InvokeActor_state_and_reminders_work_over_grpc()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe();
        await using var node = await ActorNode.StartAsync("A", "actor-grpc", ActorComponents.InMemory(folder), folder.Sub("registry"), probe, ActorAppSettings.Default);
        using var channel = GrpcChannel.ForAddress(node.Sidecar.GrpcEndpoint);
        var client = new GrpcDapr.Dapr.DaprClient(channel);
        var id = Guid.NewGuid().ToString("N");
        var ct = TestContext.Current.CancellationToken;

        var invoked = await client.InvokeActorAsync(new GrpcDapr.InvokeActorRequest
        {
            ActorType = nameof(CounterActor),
            ActorId = id,
            Method = nameof(ICounterActor.IncrementAsync),
            Data = ByteString.CopyFromUtf8("5"),
        }, cancellationToken: ct);
        var state = await client.GetActorStateAsync(new GrpcDapr.GetActorStateRequest { ActorType = nameof(CounterActor), ActorId = id, Key = "count" }, cancellationToken: ct);
        await client.RegisterActorReminderAsync(new GrpcDapr.RegisterActorReminderRequest
        {
            ActorType = nameof(CounterActor),
            ActorId = id,
            Name = "over-grpc",
            DueTime = "0h0m0s200ms",
            Data = ByteString.CopyFrom(Encoding.UTF8.GetBytes("over-grpc")),
        }, cancellationToken: ct);
        await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == id), TimeSpan.FromSeconds(20), "the reminder registered over gRPC");

        Assert.Equal("5", invoked.Data.ToStringUtf8());
        Assert.Equal("5", state.Data.ToStringUtf8());
        Assert.Equal("over-grpc", Assert.Single(probe.Reminders, r => r.Id == id).Name);
    }
}
