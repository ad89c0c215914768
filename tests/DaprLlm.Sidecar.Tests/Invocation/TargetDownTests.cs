using System.Net;

namespace DaprLlm.Sidecar.Tests.Invocation;

public sealed class TargetDownTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_stopped_target_app_answers_500_err_direct_invoke_naming_the_app()
    {
        await using var pair = await InvocationPair.StartAsync();
        await pair.TargetApp.StopAsync();
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/echo/down", Ct);
        var error = await DaprError.ReadAsync(response, Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", error.ErrorCode);
        Assert.StartsWith("failed to invoke, id: target, err: app 'target' is not reachable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_target_sidecar_answers_500_err_direct_invoke_and_the_restarted_one_serves_again()
    {
        await using var pair = await InvocationPair.StartAsync();
        await pair.TargetSidecar.KillAsync();
        using var http = pair.InvokeClient();

        using var down = await http.GetAsync("http://target/echo/down", Ct);
        var error = await DaprError.ReadAsync(down, Ct);
        await pair.TargetSidecar.RestartAsync();
        using var up = await http.GetAsync("http://target/echo/up", Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, down.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", error.ErrorCode);
        Assert.StartsWith("failed to invoke, id: target, err: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
    }
}
