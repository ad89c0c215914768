// DaprClient's invoke methods are marked obsolete in favour of plain clients, but apps still use them: they must keep working.
#pragma warning disable CS0618

using System.Net;
using System.Net.Http.Json;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Invocation;
using Grpc.Core;
using Grpc.Net.Client;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Security;

public sealed class ApiTokenTests
{
    private const string CallerToken = "caller-api-token";
    private const string AppToken = "target-app-token";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Http_api_requires_dapr_api_token_but_health_stays_open()
    {
        await using var pair = await InvocationPair.StartAsync(callerSettings: s => s with { ApiToken = CallerToken });
        using var anonymous = new HttpClient();

        using var refused = await anonymous.GetAsync($"{pair.CallerSidecar.HttpEndpoint}/v1.0/invoke/target/method/echo/x", Ct);
        using var wrongClient = DaprClient.CreateInvokeHttpClient("target", pair.CallerSidecar.HttpEndpoint, "wrong-token");
        using var wrong = await wrongClient.GetAsync("http://target/echo/x", Ct);
        using var headerForm = new HttpRequestMessage(HttpMethod.Get, $"{pair.CallerSidecar.HttpEndpoint}/echo/x");
        headerForm.Headers.Add("dapr-app-id", "target");
        using var headerFormRefused = await anonymous.SendAsync(headerForm, Ct);
        using var health = await anonymous.GetAsync($"{pair.CallerSidecar.HttpEndpoint}/v1.0/healthz", Ct);
        using var outbound = await anonymous.GetAsync($"{pair.CallerSidecar.HttpEndpoint}/v1.0/healthz/outbound", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("ERR_API_TOKEN_INVALID", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, headerFormRefused.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, outbound.StatusCode);
        Assert.Equal(0, pair.Target.HitsOf("echo"));
    }

    [Fact]
    public async Task Sdk_with_the_token_invokes_and_the_token_does_not_reach_the_target_app()
    {
        await using var pair = await InvocationPair.StartAsync(callerSettings: s => s with { ApiToken = CallerToken });
        using var client = pair.CallerClient(CallerToken);
        using var http = pair.InvokeClient(apiToken: CallerToken);

        var viaSdk = await client.InvokeMethodAsync<EchoReply>(HttpMethod.Get, "target", "echo/with-token", Ct);
        var viaHttpClient = await http.GetFromJsonAsync<EchoReply>("http://target/echo/with-token", TargetEndpoints.Json, Ct);

        Assert.Equal("/echo/with-token", viaSdk.Path);
        Assert.False(viaSdk.Headers.ContainsKey("dapr-api-token"));
        Assert.False(viaHttpClient!.Headers.ContainsKey("dapr-api-token"));
    }

    [Fact]
    public async Task Grpc_api_answers_unauthenticated_without_the_token_and_serves_with_it()
    {
        await using var pair = await InvocationPair.StartAsync(callerSettings: s => s with { ApiToken = CallerToken });
        using var channel = GrpcChannel.ForAddress(pair.CallerSidecar.GrpcEndpoint);
        var dapr = new Autogen.Dapr.DaprClient(channel);
        var request = new Autogen.InvokeServiceRequest
        {
            Id = "target",
            Message = new Autogen.InvokeRequest { Method = "echo/grpc-token", HttpExtension = new Autogen.HTTPExtension { Verb = Autogen.HTTPExtension.Types.Verb.Get } },
        };

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await dapr.InvokeServiceAsync(request, cancellationToken: Ct));
        var answer = await dapr.InvokeServiceAsync(request, new Grpc.Core.Metadata { { "dapr-api-token", CallerToken } }, cancellationToken: Ct);
        using var sdkWithoutToken = pair.CallerClient();
        var sdkRefused = await Assert.ThrowsAnyAsync<Exception>(() => sdkWithoutToken.InvokeMethodGrpcAsync("target", "sink", new Google.Protobuf.WellKnownTypes.StringValue { Value = "x" }, Ct));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("/echo/grpc-token", answer.Data.Value.ToStringUtf8(), StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, FindRpc(sdkRefused)?.StatusCode);
        Assert.Empty(pair.Target.Bodies);
    }

    [Fact]
    public async Task App_api_token_is_sent_to_the_app_as_dapr_api_token()
    {
        await using var pair = await InvocationPair.StartAsync(
            callerSettings: s => s with { ApiToken = CallerToken },
            targetSettings: s => s with { AppApiToken = AppToken });
        using var http = pair.InvokeClient(apiToken: CallerToken);

        var reply = await http.GetFromJsonAsync<EchoReply>("http://target/echo/app-token", TargetEndpoints.Json, Ct);

        Assert.Equal(AppToken, reply!.Headers["dapr-api-token"]);
    }

    [Fact]
    public async Task The_internal_sidecar_route_refuses_calls_without_the_run_secret()
    {
        await using var pair = await InvocationPair.StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync($"{pair.TargetSidecar.HttpEndpoint}/_daprllm/internal/invoke/target/echo/bypass", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static RpcException? FindRpc(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is RpcException rpc)
            {
                return rpc;
            }
        }

        return null;
    }
}
