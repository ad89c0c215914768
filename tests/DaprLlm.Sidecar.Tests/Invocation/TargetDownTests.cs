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
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("ERR_DIRECT_INVOKE", body, StringComparison.Ordinal);
        Assert.Contains("failed to invoke, id: target", body, StringComparison.Ordinal);
        Assert.Contains("app 'target' is not reachable", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_target_sidecar_answers_500_err_direct_invoke_and_the_restarted_one_serves_again()
    {
        await using var pair = await InvocationPair.StartAsync();
        await pair.TargetSidecar.KillAsync();
        using var http = pair.InvokeClient();

        using var down = await http.GetAsync("http://target/echo/down", Ct);
        var body = await down.Content.ReadAsStringAsync(Ct);
        await pair.TargetSidecar.RestartAsync();
        using var up = await http.GetAsync("http://target/echo/up", Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, down.StatusCode);
        Assert.Contains("ERR_DIRECT_INVOKE", body, StringComparison.Ordinal);
        Assert.Contains("failed to invoke, id: target", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, up.StatusCode);
    }
}
