using System.Net;
using System.Text;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcDapr = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// What daprd refuses on its actor API (state of an actor not active here, reminders of a type not hosted here) and how
/// it gives up on a reminder whose callback keeps failing; one shared host, each test with its own actor ids.
/// </summary>
public sealed class ActorApiRulesTests(ActorNodeFixture fixture) : IClassFixture<ActorNodeFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ActorNode Node => fixture.Node;

    [Fact]
    public async Task An_actor_state_transaction_for_an_actor_not_active_here_is_err_actor_instance_missing()
    {
        var id = Guid.NewGuid().ToString("N");
        using var http = new HttpClient();
        var url = $"{Node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/state";

        using var response = await http.PutAsync(url, new StringContent("""[{"operation":"upsert","request":{"key":"k","value":1}}]""", Encoding.UTF8, "application/json"), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        using var channel = GrpcChannel.ForAddress(Node.Sidecar.GrpcEndpoint);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () => await new GrpcDapr.Dapr.DaprClient(channel).ExecuteActorStateTransactionAsync(
            new GrpcDapr.ExecuteActorStateTransactionRequest
            {
                ActorType = nameof(CounterActor),
                ActorId = id,
                Operations = { new GrpcDapr.TransactionalActorStateOperation { OperationType = "delete", Key = "k" } },
            }, cancellationToken: Ct));
        using var read = await http.GetAsync($"{url}/k", Ct);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
        Assert.Contains("ERR_ACTOR_INSTANCE_MISSING", body, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Internal, grpc.StatusCode);
        Assert.Contains("actor instance is missing", grpc.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, read.StatusCode);

        // The SDK saves state inside the actor's own turn: that still works.
        Assert.Equal(3, await Node.Proxy(id).IncrementAsync(3));
        Assert.Equal(3, await Node.Proxy(id).GetCountAsync());
    }

    [Fact]
    public async Task Reminder_operations_on_an_actor_type_this_sidecar_does_not_host_are_forbidden()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Node.Sidecar.HttpEndpoint) };
        const string url = "/v1.0/actors/NotHostedActor/1/reminders/r";

        using var create = await http.PutAsync(url, new StringContent("""{"dueTime":"1s"}""", Encoding.UTF8, "application/json"), Ct);
        using var get = await http.GetAsync(url, Ct);
        using var delete = await http.DeleteAsync(url, Ct);
        using var channel = GrpcChannel.ForAddress(Node.Sidecar.GrpcEndpoint);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () => await new GrpcDapr.Dapr.DaprClient(channel).RegisterActorReminderAsync(
            new GrpcDapr.RegisterActorReminderRequest { ActorType = "NotHostedActor", ActorId = "1", Name = "r", DueTime = "1s" }, cancellationToken: Ct));

        foreach (var response in new[] { create, get, delete })
        {
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{response.RequestMessage!.Method}: {(int)response.StatusCode} {body}");
            Assert.Contains("ERR_ACTOR_REMINDER_NON_HOSTED", body, StringComparison.Ordinal);
        }

        Assert.Equal(StatusCode.PermissionDenied, grpc.StatusCode);
    }

    [Fact]
    public async Task An_actor_method_answering_an_error_status_is_wrapped_as_err_actor_invoke_method_and_a_bad_ttl_fails_the_transaction()
    {
        var id = Guid.NewGuid().ToString("N");
        using var http = new HttpClient { BaseAddress = new Uri(Node.Sidecar.HttpEndpoint) };

        // A non-remoting call whose method throws: the app answers 500, daprd answers its own error with that status.
        using var failed = await http.PutAsync($"/v1.0/actors/{nameof(CounterActor)}/{id}/method/{nameof(ICounterActor.FailAsync)}",
            new StringContent("\"boom-6\"", Encoding.UTF8, "application/json"), Ct);
        var failure = await failed.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Contains("ERR_ACTOR_INVOKE_METHOD", failure, StringComparison.Ordinal);
        Assert.Contains("error invoke actor method: error from actor service: (500)", failure, StringComparison.Ordinal);

        // ttlInSeconds that is not an integer fails the store's TTL parse, so the whole transaction (daprd: 500).
        Assert.Equal(1, await Node.Proxy(id).IncrementAsync(1));
        foreach (var ttl in new[] { "abc", "1.5", "-2" })
        {
            using var response = await http.PutAsync($"/v1.0/actors/{nameof(CounterActor)}/{id}/state",
                new StringContent("""[{"operation":"upsert","request":{"key":"count","value":5,"metadata":{"ttlInSeconds":"TTL"}}}]""".Replace("TTL", ttl, StringComparison.Ordinal),
                    Encoding.UTF8, "application/json"), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.InternalServerError, $"{ttl}: {(int)response.StatusCode} {body}");
            Assert.Contains("ERR_ACTOR_STATE_TRANSACTION_SAVE", body, StringComparison.Ordinal);
        }

        Assert.Equal(1, await Node.Proxy(id).GetCountAsync());
    }

    [Fact]
    public async Task A_one_shot_reminder_whose_callback_always_fails_is_retried_three_times_then_removed()
    {
        var id = Guid.NewGuid().ToString("N");
        using var http = new HttpClient { BaseAddress = new Uri(Node.Sidecar.HttpEndpoint) };

        await Node.Proxy(id).AddReminderAsync("fail-always", 100, 0);
        await Deadline.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync($"/v1.0/actors/{nameof(CounterActor)}/{id}/reminders/fail-always", Ct);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, Wait, "the failing reminder to be given up");

        // The first firing and daprd's three retries (constant policy, one second apart).
        Assert.Equal(4, fixture.Probe.Reminders.Count(r => r.Id == id && r.Name == "fail-always"));
    }
}
