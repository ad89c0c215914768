using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>
/// Upstream calls skip HttpClient's client span only while nothing records it, and keep the caller's trace either way.
/// A real loopback server stands in for the sidecar and reports the traceparent it received.
/// </summary>
[Collection(TelemetryListeners.Name)]
public sealed class UnrecordedSpanHandlerTests : IAsyncLifetime
{
    private readonly int _port = Ports.GetFree();
    private readonly ConcurrentQueue<string?> _traceparents = new();
    private WebApplication? _sidecar;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, _port));
        builder.Logging.ClearProviders();
        _sidecar = builder.Build();
        _sidecar.Run(context =>
        {
            _traceparents.Enqueue(context.Request.Headers.TryGetValue("traceparent", out var value) ? value.ToString() : null);
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

    private DaprUpstreamChannels Channels() => new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{_port}",
    }).Build());

    private async Task<string?> TraceparentSentAsync()
    {
        _traceparents.Clear();
        using var channels = Channels();
        using var response = await channels.For("safety").PostAsync("moderation/input", new StringContent("{}"), TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return Assert.Single(_traceparents);
    }

    [Fact]
    public async Task Without_a_listener_the_call_carries_the_requests_own_span_as_parent()
    {
        Assert.False(UnrecordedSpanHandler.Recorded);
        using var request = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();

        var traceparent = await TraceparentSentAsync();

        // HttpClient's own span would have sent a child span id; the request's span id means no client span was made.
        Assert.Equal(request.Id, traceparent);
        Assert.Same(request, Activity.Current);
    }

    [Fact]
    public async Task With_a_listener_on_httpclient_spans_they_are_recorded_as_before()
    {
        var recorded = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = recorded.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        Assert.True(UnrecordedSpanHandler.Recorded);
        using var request = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();

        var traceparent = await TraceparentSentAsync();

        var span = Assert.Single(recorded, a => a.TraceId == request.TraceId);
        Assert.Equal(request.SpanId, span.ParentSpanId);
        Assert.Equal(span.Id, traceparent);
    }

    [Fact]
    public async Task Without_a_current_activity_no_trace_context_is_invented()
    {
        Assert.Null(Activity.Current);
        Assert.Null(await TraceparentSentAsync());
    }
}

/// <summary>Tests that add or need the absence of process-wide Activity listeners run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TelemetryListeners
{
    public const string Name = "process-wide telemetry listeners";
}
