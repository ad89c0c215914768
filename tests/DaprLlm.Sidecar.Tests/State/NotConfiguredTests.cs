using System.Net;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Dapr.Common.Exceptions;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.State;

/// <summary>A sidecar without any state store, secret store or binding answers with daprd's "not configured" errors.</summary>
public sealed class NotConfiguredTests
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_sidecar_without_components_reports_each_building_block_as_not_configured()
    {
        using var folder = new TempFolder();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("bare-app", folder.Sub("components"), folder.Sub("registry")), StartTimeout);
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        using var state = await http.GetAsync("/v1.0/state/statestore/k", Ct);
        using var transaction = await http.PostAsync("/v1.0/state/statestore/transaction", new StringContent("""{"operations":[]}"""), Ct);
        using var secret = await http.GetAsync("/v1.0/secrets/vault/k", Ct);
        using var binding = await http.PostAsync("/v1.0/bindings/out", new StringContent("""{"operation":"create"}"""), Ct);

        await AssertError(state, HttpStatusCode.InternalServerError, "ERR_STATE_STORE_NOT_CONFIGURED");
        await AssertError(transaction, HttpStatusCode.InternalServerError, "ERR_STATE_STORE_NOT_CONFIGURED");
        await AssertError(secret, HttpStatusCode.InternalServerError, "ERR_SECRET_STORES_NOT_CONFIGURED");
        await AssertError(binding, HttpStatusCode.InternalServerError, "ERR_INVOKE_OUTPUT_BINDING");

        // Over gRPC, daprd's kit error carries a google.rpc.Status with an ErrorInfo detail.
        using var client = new DaprClientBuilder().UseHttpEndpoint(sidecar.HttpEndpoint).UseGrpcEndpoint(sidecar.GrpcEndpoint).Build();
        var error = await Assert.ThrowsAsync<DaprException>(() => client.GetStateAsync<string>("statestore", "k", cancellationToken: Ct));
        Assert.True(error.TryGetExtendedErrorInfo(out var extended));
        Assert.Equal((int)Grpc.Core.StatusCode.FailedPrecondition, extended!.Code);
        Assert.Equal("state store statestore is not configured", extended.Message);
        var info = GrpcErrorInfo.Read(error);
        Assert.Equal("DAPR_STATE_NOT_CONFIGURED", info.Reason);
        Assert.Equal("dapr.io", info.Domain);
        Assert.Equal("bare-app", info.Metadata["appID"]);
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string errorCode)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(errorCode, json.RootElement.GetProperty("errorCode").GetString());
    }
}
