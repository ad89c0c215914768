using System.Net;
using System.Net.Sockets;
using System.Text;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// Resiliency retries and circuit breakers on an actor type (targets.actors), with the real actor app made unreachable:
/// while it is down its port is held by a listener that accepts and drops every connection, so each attempt the
/// sidecar makes is counted.
/// </summary>
public sealed class ActorResiliencyTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_retry_policy_retries_while_the_actor_app_is_unreachable_and_succeeds_once_it_is_back()
    {
        using var folder = new TempFolder();
        await using var node = await StartAsync(folder, "actor-retry", """
                retries:
                  patient:
                    policy: constant
                    duration: 100ms
                    maxRetries: 200
              targets:
                actors:
                  CounterActor:
                    retry: patient
            """);
        var id = Guid.NewGuid().ToString("N");
        await node.Proxy(id).IncrementAsync(1);
        using var http = new HttpClient();

        await node.App.StopAsync();
        Task<HttpResponseMessage> call;
        using (var dropper = ConnectionDropper.Start(node.App.Port))
        {
            call = IncrementAsync(http, node, id);
            await Deadline.WaitUntilAsync(() => dropper.Accepted >= 2, Wait, "the sidecar to retry the unreachable app");
        }

        await node.App.StartAsync();
        using var response = await call;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task A_circuit_breaker_opens_after_consecutive_failures_and_closes_when_the_actor_app_is_back()
    {
        using var folder = new TempFolder();
        await using var node = await StartAsync(folder, "actor-breaker", """
                circuitBreakers:
                  tripAt2:
                    maxRequests: 1
                    timeout: 1s
                    trip: consecutiveFailures >= 2
              targets:
                actors:
                  CounterActor:
                    circuitBreaker: tripAt2
            """);
        var id = Guid.NewGuid().ToString("N");
        await node.Proxy(id).IncrementAsync(1);
        using var http = new HttpClient();

        await node.App.StopAsync();
        using (var dropper = ConnectionDropper.Start(node.App.Port))
        {
            using var first = await IncrementAsync(http, node, id);
            using var second = await IncrementAsync(http, node, id);
            using var open = await IncrementAsync(http, node, id);

            Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
            Assert.Equal(HttpStatusCode.InternalServerError, second.StatusCode);
            Assert.Equal(HttpStatusCode.InternalServerError, open.StatusCode);
            var body = await open.Content.ReadAsStringAsync(Ct);
            Assert.Contains("ERR_ACTOR_INVOKE_METHOD", body, StringComparison.Ordinal);
            Assert.Contains("circuit breaker is open", body, StringComparison.Ordinal);
            Assert.Equal(2, dropper.Accepted); // the open breaker did not try the app
        }

        await node.App.StartAsync();
        await Deadline.WaitUntilAsync(async () =>
        {
            using var again = await IncrementAsync(http, node, id);
            return again.StatusCode == HttpStatusCode.OK;
        }, Wait, "the half-open breaker to let a call through and close");
    }

    private static async Task<ActorNode> StartAsync(TempFolder folder, string appId, string policies)
    {
        var components = ActorComponents.InMemory(folder);
        folder.Write("components/resiliency.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: actor-policies
            spec:
              policies:
            {policies}
            """);
        return await ActorNode.StartAsync("A", appId, components, folder.Sub("registry"), new ActorProbe(), ActorAppSettings.Default);
    }

    private static Task<HttpResponseMessage> IncrementAsync(HttpClient http, ActorNode node, string id) =>
        http.PutAsync($"{node.Sidecar.HttpEndpoint}/v1.0/actors/{nameof(CounterActor)}/{id}/method/{nameof(ICounterActor.IncrementAsync)}",
            new StringContent("1", Encoding.UTF8, "application/json"), Ct);

    /// <summary>Holds a port, accepting and at once closing every connection (an app that is there but broken).</summary>
    private sealed class ConnectionDropper : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _accepted;

        private ConnectionDropper(int port)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public int Accepted => Volatile.Read(ref _accepted);

        public static ConnectionDropper Start(int port) => new(port);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    client.Client.LingerState = new LingerOption(true, 0); // RST: the sidecar sees a broken connection at once
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }
            }
        }
    }
}
