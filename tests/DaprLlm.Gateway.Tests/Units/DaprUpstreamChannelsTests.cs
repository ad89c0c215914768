using System.Collections.Concurrent;
using System.Net;
using DaprLlm.Gateway.Upstream;
using Microsoft.AspNetCore.Http.Features;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The gateway's service-invocation clients against a real loopback server standing in for the sidecar.</summary>
public sealed class DaprUpstreamChannelsTests : IAsyncLifetime
{
    private readonly int _port = Ports.GetFree();
    private readonly ConcurrentQueue<(string Target, string? Token)> _seen = new();
    private WebApplication? _sidecar;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port));
        builder.Logging.ClearProviders();
        _sidecar = builder.Build();
        _sidecar.Run(context =>
        {
            _seen.Enqueue((context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget,
                context.Request.Headers.TryGetValue(DaprInvokeHandler.ApiTokenHeader, out var token) ? token.ToString() : null));
            return context.Response.WriteAsync("{}");
        });
        await _sidecar.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }
    }

    private DaprUpstreamChannels Channels(string? token = null) => new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{_port}",
        ["DAPR_API_TOKEN"] = token,
    }).Build());

    private async Task<(string Target, string? Token)> SendAsync(DaprUpstreamChannels channels, string appId, string method)
    {
        _seen.Clear();
        using var response = await channels.For(appId).PostAsync(method, new StringContent("{}"), TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.Single(_seen);
        return _seen.Single();
    }

    [Theory]
    [InlineData("safety", "moderation/input", "/v1.0/invoke/safety/method/moderation/input")]
    [InlineData("inference-eu", "v1/generate", "/v1.0/invoke/inference-eu/method/v1/generate")]
    [InlineData("safety", "reviews/r-1?wait=0", "/v1.0/invoke/safety/method/reviews/r-1?wait=0")]
    public async Task A_call_by_app_id_goes_to_the_sidecars_invoke_api(string appId, string method, string expected)
    {
        using var channels = Channels();
        var (target, token) = await SendAsync(channels, appId, method);
        Assert.Equal(expected, target);
        Assert.Null(token);
    }

    [Theory]
    [InlineData("reviews/../../../v1.0/state/statestore/k", "/v1.0/invoke/safety/method/v1.0/state/statestore/k")]
    [InlineData("reviews/..%2F..%2Fv1.0%2Fstate", "/v1.0/invoke/safety/method/reviews/..%2F..%2Fv1.0%2Fstate")]
    [InlineData("reviews/a b", "/v1.0/invoke/safety/method/reviews/a%20b")]
    public async Task A_client_supplied_path_never_leaves_the_apps_method_space(string method, string expected)
    {
        using var channels = Channels();
        var (target, _) = await SendAsync(channels, "safety", method);
        Assert.Equal(expected, target);
    }

    [Fact]
    public async Task The_dapr_api_token_goes_with_every_call_when_set()
    {
        using var channels = Channels("secret-token");
        Assert.Equal("secret-token", (await SendAsync(channels, "safety", "moderation/input")).Token);
        Assert.Equal("secret-token", (await SendAsync(channels, "safety", "moderation/output")).Token);
    }

    [Fact]
    public async Task Cached_method_uris_are_rewritten_the_same_every_time_and_per_method()
    {
        using var channels = Channels();
        var http = channels.For("safety");
        var seen = new List<string>();
        foreach (var method in new[] { "moderation/input", "moderation/output", "moderation/input", "reviews/../../x", "moderation/input" })
        {
            _seen.Clear();
            using var request = new HttpRequestMessage(HttpMethod.Post, UpstreamCall.MethodUri(http, method)) { Content = new StringContent("{}") };
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            response.EnsureSuccessStatusCode();
            seen.Add(_seen.Single().Target);
        }

        Assert.Equal(
            ["/v1.0/invoke/safety/method/moderation/input", "/v1.0/invoke/safety/method/moderation/output", "/v1.0/invoke/safety/method/moderation/input",
                "/v1.0/invoke/safety/method/x", "/v1.0/invoke/safety/method/moderation/input"],
            seen);

        // Another app's client with the same method goes to that app, not to a cached safety URI.
        var inference = channels.For("inference");
        _seen.Clear();
        using var other = new HttpRequestMessage(HttpMethod.Post, UpstreamCall.MethodUri(inference, "moderation/input")) { Content = new StringContent("{}") };
        using var answer = await inference.SendAsync(other, TestContext.Current.CancellationToken);
        answer.EnsureSuccessStatusCode();
        Assert.Equal("/v1.0/invoke/inference/method/moderation/input", _seen.Single().Target);
    }

    [Fact]
    public async Task An_absolute_uri_to_another_host_is_refused_instead_of_sent()
    {
        using var channels = Channels();
        await Assert.ThrowsAsync<ArgumentException>(() =>
            channels.For("safety").GetAsync("http://example.com/x", TestContext.Current.CancellationToken));
        Assert.Empty(_seen);
    }
}
