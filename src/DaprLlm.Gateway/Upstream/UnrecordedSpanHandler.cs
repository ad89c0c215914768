using System.Diagnostics;

namespace DaprLlm.Gateway.Upstream;

/// <summary>
/// Upstream calls made inside a request: HttpClient starts a client span (an Activity with its tags, a traceparent string
/// and a state machine) for every call whenever a parent Activity exists, which ASP.NET Core creates for every request.
/// When nothing records HttpClient's spans (no listener on its ActivitySource or DiagnosticListener: telemetry export
/// is off), that span is pure cost, three per chat request (~10 % of the bytes a request allocates, see bench/RESULTS.md).
/// This handler then sends the caller's own trace context (traceparent/tracestate of the current Activity) and runs the
/// call without a current Activity, so HttpClient skips the span; the called app still joins the same trace id. When
/// something listens, the call goes through unchanged and HttpClient records its span as before.
/// </summary>
public sealed class UnrecordedSpanHandler : DelegatingHandler
{
    private const string HttpClientSourceName = "System.Net.Http";
    private const string HttpClientListenerName = "HttpHandlerDiagnosticListener";

    // A source with HttpClient's name: a listener that would record HttpClient's spans listens to this one too.
    private static readonly ActivitySource HttpClientSource = new(HttpClientSourceName);
    private static DiagnosticListener? _httpClientListener;

    static UnrecordedSpanHandler() => DiagnosticListener.AllListeners.Subscribe(new ListenerWatch());

    /// <summary>Whether HttpClient's client spans are recorded by anyone (then they are not skipped).</summary>
    public static bool Recorded => HttpClientSource.HasListeners() || _httpClientListener?.IsEnabled() == true;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Activity.Current is { } current && !Recorded ? SendWithoutSpanAsync(request, current, cancellationToken) : base.SendAsync(request, cancellationToken);

    private async Task<HttpResponseMessage> SendWithoutSpanAsync(HttpRequestMessage request, Activity current, CancellationToken cancellationToken)
    {
        // What HttpClient's propagator would send, with the request's span as the parent instead of an unrecorded child.
        if (current.IdFormat == ActivityIdFormat.W3C && !request.Headers.Contains("traceparent"))
        {
            request.Headers.TryAddWithoutValidation("traceparent", current.Id);
            if (current.TraceStateString is { Length: > 0 } state)
            {
                request.Headers.TryAddWithoutValidation("tracestate", state);
            }
        }

        // Scoped to this async method: the caller's Activity.Current is back when it resumes.
        Activity.Current = null;
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps HttpClient's DiagnosticListener when it is created (its first request), to ask whether it is enabled.</summary>
    private sealed class ListenerWatch : IObserver<DiagnosticListener>
    {
        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == HttpClientListenerName)
            {
                _httpClientListener = value;
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
