using System.Net;
using System.Net.Http.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Invocation;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcDapr = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// Reminder writes the store does not take are errors, as in daprd: never a success for a reminder that was not
/// written. The store is state.sqlite; a trigger makes every write of the reminders document lose its ETag race.
/// </summary>
public sealed class ActorReminderStoreFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Registering_or_removing_a_reminder_that_loses_every_write_race_fails_over_http_and_grpc()
    {
        using var folder = new TempFolder();
        var components = ActorComponents.Sqlite(folder, out var database);
        await using var node = await ActorNode.StartAsync("A", "actor-reminder-races", components, folder.Sub("registry"), new ActorProbe(), ActorAppSettings.Default);
        using var http = new HttpClient { BaseAddress = new Uri(node.Sidecar.HttpEndpoint) };
        using var channel = GrpcChannel.ForAddress(node.Sidecar.GrpcEndpoint);
        var grpc = new GrpcDapr.Dapr.DaprClient(channel);
        var id = Guid.NewGuid().ToString("N");
        var reminders = $"/v1.0/actors/{nameof(CounterActor)}/{id}/reminders";
        var later = new { dueTime = "1h", period = "" };
        using (var kept = await http.PutAsJsonAsync($"{reminders}/kept", later, Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, kept.StatusCode);
        }

        HttpResponseMessage create, delete;
        RpcException grpcCreate, grpcDelete;
        await using (await SqliteFaults.FailWritesAsync(database, $"daprllm||actors||reminders||{nameof(CounterActor)}", SqliteFault.LostRace))
        {
            create = await http.PutAsJsonAsync($"{reminders}/new", later, Ct);
            delete = await http.DeleteAsync($"{reminders}/kept", Ct);
            grpcCreate = await Assert.ThrowsAsync<RpcException>(() => grpc.RegisterActorReminderAsync(new GrpcDapr.RegisterActorReminderRequest
            {
                ActorType = nameof(CounterActor), ActorId = id, Name = "new-grpc", DueTime = "1h",
            }, cancellationToken: Ct).ResponseAsync);
            grpcDelete = await Assert.ThrowsAsync<RpcException>(() => grpc.UnregisterActorReminderAsync(new GrpcDapr.UnregisterActorReminderRequest
            {
                ActorType = nameof(CounterActor), ActorId = id, Name = "kept",
            }, cancellationToken: Ct).ResponseAsync);
        }

        using (create)
        using (delete)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, create.StatusCode);
            Assert.Equal("ERR_ACTOR_REMINDER_CREATE", (await DaprError.ReadAsync(create, Ct)).ErrorCode);
            Assert.Equal(HttpStatusCode.InternalServerError, delete.StatusCode);
            Assert.Equal("ERR_ACTOR_REMINDER_DELETE", (await DaprError.ReadAsync(delete, Ct)).ErrorCode);
        }

        Assert.Equal(StatusCode.Internal, grpcCreate.StatusCode);
        Assert.StartsWith("error creating actor reminder", grpcCreate.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Internal, grpcDelete.StatusCode);
        Assert.StartsWith("error deleting actor reminder", grpcDelete.Status.Detail, StringComparison.Ordinal);

        // What the errors said is what the store holds: "kept" is still there, the new ones are not.
        using var stillKept = await http.GetAsync($"{reminders}/kept", Ct);
        using var notCreated = await http.GetAsync($"{reminders}/new", Ct);
        Assert.Equal(HttpStatusCode.OK, stillKept.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notCreated.StatusCode);
    }
}
