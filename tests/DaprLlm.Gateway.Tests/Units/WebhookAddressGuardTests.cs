using System.Net;
using System.Net.Sockets;
using DaprLlm.Gateway.Review;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>Client webhooks cannot be pointed at the gateway's own network (server-side request forgery).</summary>
public sealed class WebhookAddressGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("2001:db8::1")]
    public void Internal_and_special_addresses_are_not_public(string address) =>
        Assert.False(WebhookAddressGuard.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("::ffff:1.1.1.1")]
    public void Public_addresses_are_public(string address) =>
        Assert.True(WebhookAddressGuard.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://127.0.0.1/hook", true)]
    [InlineData("https://localhost/hook", true)]
    [InlineData("https://[::1]:8443/hook", true)]
    [InlineData("https://10.0.0.7/hook", true)]
    [InlineData("https://hooks.example.com/hook", false)] // a name: checked where it is dialled
    [InlineData("https://8.8.8.8/hook", false)]
    public void Literal_internal_hosts_are_refused_when_given(string url, bool refused)
    {
        Assert.Equal(refused, WebhookAddressGuard.IsRefusedLiteral(new Uri(url), allowPrivateNetworks: false));
        Assert.False(WebhookAddressGuard.IsRefusedLiteral(new Uri(url), allowPrivateNetworks: true));
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_not_dialled_unless_private_networks_are_allowed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        using var guarded = new HttpClient(new SocketsHttpHandler { ConnectCallback = WebhookAddressGuard.ConnectCallback(allowPrivateNetworks: false) });
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => guarded.PostAsync($"http://localhost:{port}/hook", null, ct));
        Assert.Contains("no public address", refused.Message, StringComparison.Ordinal);
        Assert.False(listener.Pending()); // nothing connected

        using var open = new HttpClient(new SocketsHttpHandler { ConnectCallback = WebhookAddressGuard.ConnectCallback(allowPrivateNetworks: true) });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var send = open.PostAsync($"http://localhost:{port}/hook", null, stop.Token);
        using var accepted = await listener.AcceptTcpClientAsync(ct); // the allowed client does connect
        Assert.True(accepted.Connected);
        await stop.CancelAsync(); // the listener never answers HTTP
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
    }
}
