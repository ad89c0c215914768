using System.Net;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Bindings;

/// <summary>bindings.http against a real local HTTP listener, through the unchanged SDK (gRPC) and the HTTP API.</summary>
public sealed class HttpBindingTests(HttpBindingSidecar fixture) : IClassFixture<HttpBindingSidecar>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Posts_data_with_path_and_headers_and_returns_the_answer_with_its_status()
    {
        using var client = fixture.Client();
        var request = new BindingRequest("webhook", "post") { Data = Encoding.UTF8.GetBytes("""{"order":7}""") };
        request.Metadata["path"] = "/orders";
        request.Metadata["X-Tenant"] = "acme";

        var response = await client.InvokeBindingAsync(request, Ct);

        using var echo = JsonDocument.Parse(response.Data);
        Assert.Equal("POST", echo.RootElement.GetProperty("method").GetString());
        Assert.Equal("/api/orders", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("acme", echo.RootElement.GetProperty("tenant").GetString());
        Assert.Equal("""{"order":7}""", echo.RootElement.GetProperty("body").GetString());
        Assert.Equal("200", response.Metadata["statusCode"]);
    }

    [Fact]
    public async Task A_non_2xx_answer_is_an_error_with_its_status_code_in_the_metadata_headers()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Sidecar.HttpEndpoint) };
        using var client = fixture.Client();

        using var failed = await http.PostAsync("/v1.0/bindings/webhook",
            new StringContent("""{"operation":"get","metadata":{"path":"/missing"}}""", Encoding.UTF8, "application/json"), Ct);
        using var tolerated = await http.PostAsync("/v1.0/bindings/webhook",
            new StringContent("""{"operation":"get","metadata":{"path":"/missing","errorIfNot2XX":"false"}}""", Encoding.UTF8, "application/json"), Ct);
        var grpcRequest = new BindingRequest("webhook", "get");
        grpcRequest.Metadata["path"] = "/missing";

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("404", failed.Headers.GetValues("metadata.statusCode").Single());
        var error = JsonDocument.Parse(await failed.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal("ERR_INVOKE_OUTPUT_BINDING", error.GetProperty("errorCode").GetString());
        Assert.Contains("received status code 404", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, tolerated.StatusCode);
        Assert.Equal("nothing here", await tolerated.Content.ReadAsStringAsync(Ct));
        await Assert.ThrowsAsync<DaprException>(() => client.InvokeBindingAsync(grpcRequest, Ct));
    }

    [Fact]
    public async Task A_5xx_answer_still_returns_its_status_and_headers_as_metadata_over_http_and_grpc()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Sidecar.HttpEndpoint) };
        using var channel = GrpcChannel.ForAddress(fixture.Sidecar.GrpcEndpoint);
        var dapr = new Autogen.Dapr.DaprClient(channel);
        var grpcRequest = new Autogen.InvokeBindingRequest { Name = "webhook", Operation = "get" };
        grpcRequest.Metadata["path"] = "/overloaded";

        using var failed = await http.PostAsync("/v1.0/bindings/webhook",
            new StringContent("""{"operation":"get","metadata":{"path":"/overloaded"}}""", Encoding.UTF8, "application/json"), Ct);
        using var call = dapr.InvokeBindingAsync(grpcRequest, cancellationToken: Ct);
        var headers = await call.ResponseHeadersAsync;
        var grpcError = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("503", failed.Headers.GetValues("metadata.statusCode").Single());
        Assert.Equal("503 Service Unavailable", failed.Headers.GetValues("metadata.status").Single());
        Assert.Equal("queue-full", failed.Headers.GetValues("metadata.X-Reason").Single());
        Assert.Contains("received status code 503", await Message(failed), StringComparison.Ordinal);
        Assert.Equal(StatusCode.Internal, grpcError.StatusCode);
        Assert.Equal("503", headers.GetValue("metadata.statuscode"));
        Assert.Equal("queue-full", headers.GetValue("metadata.x-reason"));
    }

    [Fact]
    public async Task Http_api_sends_json_data_and_refuses_unknown_bindings_and_operations()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Sidecar.HttpEndpoint) };

        using var created = await http.PostAsync("/v1.0/bindings/webhook",
            new StringContent("""{"operation":"create","data":{"a":1},"metadata":{"path":"orders"}}""", Encoding.UTF8, "application/json"), Ct);
        using var unknown = await http.PostAsync("/v1.0/bindings/nobinding",
            new StringContent("""{"operation":"create","data":1}""", Encoding.UTF8, "application/json"), Ct);
        using var badOperation = await http.PostAsync("/v1.0/bindings/webhook",
            new StringContent("""{"operation":"explode"}""", Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var echo = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal("POST", echo.GetProperty("method").GetString());
        Assert.Equal("""{"a":1}""", echo.GetProperty("body").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, unknown.StatusCode);
        Assert.Contains("couldn't find output binding nobinding", await Message(unknown), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, badOperation.StatusCode);
        Assert.Contains("does not support operation explode", await Message(badOperation), StringComparison.Ordinal);
    }

    private static async Task<string> Message(HttpResponseMessage response)
    {
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("ERR_INVOKE_OUTPUT_BINDING", error.RootElement.GetProperty("errorCode").GetString());
        return error.RootElement.GetProperty("message").GetString()!;
    }
}
