using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Http;
using DaprLlm.Sidecar.Resiliency;
using DaprLlm.Sidecar.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Polly;
using Polly.Timeout;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// Service invocation as daprd does it: the caller's sidecar resolves the target app id through the
/// <see cref="SidecarRegistry"/>, applies the app's Resiliency policy, and either calls its own app (a call
/// for its own app id) or forwards to the target's sidecar, which calls its app. Bodies stream both ways;
/// a response is copied chunk by chunk and flushed, so server-sent events reach the caller as they are written.
/// Each hop is a span and carries W3C trace context.
/// </summary>
public sealed class ServiceInvoker(
    SidecarOptions options,
    SidecarRegistry registry,
    AppChannel.AppChannel appChannel,
    IResiliencyPolicies policies,
    InternalInvocationAuth internalAuth,
    TimeProvider time,
    ILogger<ServiceInvoker> logger) : IDisposable
{

    /// <summary>Route of the sidecar-to-sidecar hop (the part daprd does over its internal gRPC port).</summary>
    public const string InternalPrefix = "/_daprllm/internal/invoke/";

    private static readonly string HostName = Dns.GetHostName();
    private static readonly string? Namespace = Environment.GetEnvironmentVariable("NAMESPACE") is { Length: > 0 } ns ? ns : null;

    // Resolving reads the registry folder and checks processes: too slow per call, so answers are kept briefly
    // (like daprd's name-resolution cache) and dropped as soon as an instance cannot be reached.
    private static readonly TimeSpan ResolutionTtl = TimeSpan.FromSeconds(2);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (IReadOnlyList<SidecarInstance> Instances, DateTimeOffset Until)> _resolved =
        new(StringComparer.Ordinal);

    // One handler pools the connections to every other sidecar; called as an invoker (no HttpClient wrapper, no
    // factory lookup per call): the answer is streamed, so HttpClient's buffering and timeout are not wanted.
    private readonly HttpMessageInvoker _sidecars = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        UseCookies = false,
    }, disposeHandler: true);

    private int _roundRobin;

    /// <summary>Handles /v1.0/invoke/{id}/method/{method} (and the dapr-app-id header form) from the app.</summary>
    public async Task InvokeFromAppAsync(HttpContext context, string targetId, string method)
    {
        var appId = StripNamespace(targetId);
        method = CleanMethod(DecodeSlashes(context, method));
        var trace = StartHop(local: false, appId, method, context.Request.Headers);
        using var activity = trace.Activity;
        var call = new OutgoingCall(appId, context.Request.Method, method, context.Request.QueryString.Value ?? "", context.Request.Headers, FromSidecar: false, trace);
        var pipeline = policies.App(appId);

        // With a policy, a non-success answer is a failure the policy sees (buffered, so it can be replayed to the
        // caller when the policy gives up); only retries need the request body kept for another attempt.
        var failuresThrow = pipeline != ResiliencePipeline.Empty;
        var keepBody = failuresThrow && (policies is not ResiliencyPolicies known || known.AppHasRetries(appId));
        byte[]? body = null;
        if (keepBody && HasBody(context.Request))
        {
            body = await ReadAllAsync(context.Request.Body, context.RequestAborted);
        }

        // The policy covers getting an answer (status and headers), not streaming its body: once the first byte is with
        // the caller, a retry would call the target again (a POST would run twice) and could not restart the stream.
        HttpRequestMessage sent;
        HttpResponseMessage answer;
        try
        {
            (sent, answer) = failuresThrow
                ? await pipeline.ExecuteAsync(AttemptAsync, context.RequestAborted)
                // No policy targets this app: one attempt, without Polly's context and callbacks on every call.
                : await AttemptAsync(context.RequestAborted);
        }
        catch (Exception e)
        {
            await WriteFailureAsync(context, targetId, e, activity);
            return;
        }

        using (sent)
        using (answer)
        {
            try
            {
                await CopyResponseAsync(context, answer, context.RequestAborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException)
            {
                // Part of the answer is already with the caller: all that is left is to cut the stream.
                logger.LogWarning("Service invocation of {AppId}/{Method} failed while streaming the response: {Error}", appId, method, e.Message);
                activity?.SetStatus(ActivityStatusCode.Error, e.Message);
                context.Abort();
            }
        }

        async ValueTask<(HttpRequestMessage, HttpResponseMessage)> AttemptAsync(CancellationToken ct)
        {
            var request = BuildRequest(call, body is null ? BodyFrom(context.Request) : new ByteArrayContent(body));
            try
            {
                var response = await SendAsync(call, request, ct);
                activity?.SetTag("http.response.status_code", (int)response.StatusCode);
                var status = (int)response.StatusCode;
                if (failuresThrow && (status < 200 || status > 399))
                {
                    using (response)
                    {
                        throw new StatusCodeFailureException(status, await BufferAsync(response, ct));
                    }
                }

                return (request, response);
            }
            catch
            {
                request.Dispose();
                throw;
            }
        }
    }

    /// <summary>Handles the sidecar-to-sidecar hop: this sidecar's app is the target.</summary>
    public async Task InvokeFromSidecarAsync(HttpContext context, string appId, string method)
    {
        if (!internalAuth.IsValid(context.Request.Headers[InvocationHeaders.InternalToken]))
        {
            await DaprHttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "ERR_API_TOKEN_INVALID", "invalid sidecar token");
            return;
        }

        var trace = StartHop(local: true, appId, method, context.Request.Headers);
        using var activity = trace.Activity;
        var call = new OutgoingCall(appId, context.Request.Method, method, context.Request.QueryString.Value ?? "", context.Request.Headers, FromSidecar: true, trace);
        HttpResponseMessage response;
        try
        {
            using var request = BuildRequest(call, BodyFrom(context.Request));
            response = await SendToAppAsync(call, request, context.RequestAborted);
        }
        catch (InvocationFailedException e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            context.Response.Headers[InvocationHeaders.SidecarError] = "1";
            await DaprHttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE", e.Message);
            return;
        }

        using (response)
        {
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            try
            {
                await CopyResponseAsync(context, response, context.RequestAborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException)
            {
                logger.LogWarning("Streaming the answer of {AppId}/{Method} failed: {Error}", appId, method, e.Message);
                context.Abort();
            }
        }
    }

    /// <summary>
    /// Runs one call with the app's policy and a buffered answer (gRPC InvokeService). Non-success statuses are
    /// returned, not thrown, once the policy gives up; failures to reach the app throw <see cref="InvocationFailedException"/>.
    /// </summary>
    public async Task<BufferedResponse> InvokeBufferedAsync(string targetId, string verb, string method, string query, IHeaderDictionary headers,
        byte[] body, string? contentType, CancellationToken cancellationToken)
    {
        var appId = StripNamespace(targetId);
        method = CleanMethod(method);
        var trace = StartHop(local: false, appId, method, headers);
        using var activity = trace.Activity;
        var call = new OutgoingCall(appId, verb, method, query, headers, FromSidecar: false, trace);
        try
        {
            return await policies.App(appId).ExecuteAsync(async ct =>
            {
                var content = new ByteArrayContent(body);
                if (!string.IsNullOrEmpty(contentType))
                {
                    content.Headers.TryAddWithoutValidation("Content-Type", contentType);
                }

                using var request = BuildRequest(call, content);
                using var response = await SendAsync(call, request, ct);
                var buffered = await BufferAsync(response, ct);
                return buffered.Status is < 200 or > 399 ? throw new StatusCodeFailureException(buffered.Status, buffered) : buffered;
            }, cancellationToken);
        }
        catch (StatusCodeFailureException e) when (e.State is BufferedResponse buffered)
        {
            return buffered;
        }
        catch (Exception e) when (e is not InvocationFailedException && !cancellationToken.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw new InvocationFailedException(DescribeFailure(e), e);
        }
    }

    public void Dispose() => _sidecars.Dispose();

    /// <summary>daprd accepts "app-id.namespace"; self-hosted runs have one namespace, so the suffix only selects it.</summary>
    public static string StripNamespace(string targetId)
    {
        var dot = targetId.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? targetId[..dot] : targetId;
    }

    private async Task<HttpResponseMessage> SendAsync(OutgoingCall call, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        if (call.AppId == options.AppId)
        {
            response = await SendToAppAsync(call, request, cancellationToken);
        }
        else
        {
            // Resolved on every attempt, so a retry reaches an instance that came back.
            var target = Pick(call.AppId) ?? throw new InvocationFailedException($"couldn't find service: {call.AppId}");
            // One absolute URI parsed per call (no relative URI resolved against a base Uri built per call).
            request.RequestUri = new Uri($"http://{target.Host}:{target.HttpPort}{InternalPrefix}{Uri.EscapeDataString(call.AppId)}/{call.Path}", UriKind.Absolute);
            request.Headers.TryAddWithoutValidation(InvocationHeaders.InternalToken, internalAuth.Token);
            try
            {
                response = await _sidecars.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                _resolved.TryRemove(call.AppId, out _);
                throw new InvocationFailedException($"the sidecar of '{call.AppId}' at {target.HttpAddress} is not reachable: {e.Message}", e);
            }

            if (response.Headers.Contains(InvocationHeaders.SidecarError))
            {
                using (response)
                {
                    var text = await response.Content.ReadAsStringAsync(cancellationToken);
                    throw new InvocationFailedException(ErrorMessage(text));
                }
            }
        }

        SidecarTelemetry.RecordInvocation(call.AppId, call.Method, (int)response.StatusCode, Stopwatch.GetElapsedTime(started));
        return response;
    }

    private SidecarInstance? Pick(string appId)
    {
        var now = time.GetUtcNow();
        if (!_resolved.TryGetValue(appId, out var entry) || entry.Until < now)
        {
            entry = (registry.Resolve(appId), now + ResolutionTtl);

            // An unknown app id is not cached: it may be starting right now.
            if (entry.Instances.Count > 0)
            {
                _resolved[appId] = entry;
            }
        }

        var instances = entry.Instances;
        return instances.Count == 0 ? null : instances[(int)((uint)Interlocked.Increment(ref _roundRobin) % instances.Count)];
    }

    private async Task<HttpResponseMessage> SendToAppAsync(OutgoingCall call, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!appChannel.IsConfigured)
        {
            throw new InvocationFailedException($"app '{options.AppId}' has no app channel (the sidecar was started without --app-port)");
        }

        // AbsoluteUri of the app's base address is computed once by Uri and kept; it ends with '/'.
        request.RequestUri = new Uri($"{appChannel.BaseAddress.AbsoluteUri}{call.Path}", UriKind.Absolute);

        try
        {
            return await appChannel.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new InvocationFailedException($"app '{options.AppId}' is not reachable at {appChannel.BaseAddress}: {e.Message}", e);
        }
    }

    private HttpRequestMessage BuildRequest(OutgoingCall call, HttpContent? content)
    {
        // The URI is set where the target is known (the app or another sidecar): SendToAppAsync / SendAsync.
        var request = new HttpRequestMessage
        {
            Method = HttpMethod.Parse(call.Verb),
            Content = content,
            Version = HttpVersion.Version11,
        };
        InvocationHeaders.CopyRequestHeaders(call.Headers, request, content, call.FromSidecar);
        if (!call.FromSidecar)
        {
            request.Headers.TryAddWithoutValidation(InvocationHeaders.CallerAppId, options.AppId);
            request.Headers.TryAddWithoutValidation(InvocationHeaders.CalleeAppId, call.AppId);
            if (Namespace is not null)
            {
                request.Headers.TryAddWithoutValidation(InvocationHeaders.CallerNamespace, Namespace);
            }

            if (call.AppId != options.AppId)
            {
                request.Headers.TryAddWithoutValidation("X-Forwarded-For", registry.Self.Host);
                request.Headers.TryAddWithoutValidation("X-Forwarded-Host", HostName);
                request.Headers.TryAddWithoutValidation("Forwarded", $"for={registry.Self.Host};by={registry.Self.Host};host={HostName}");
            }
        }

        if (call.Trace.Activity is { } activity)
        {
            request.Headers.TryAddWithoutValidation("traceparent", activity.Id);
            if (!string.IsNullOrEmpty(activity.TraceStateString))
            {
                request.Headers.TryAddWithoutValidation("tracestate", activity.TraceStateString);
            }
        }
        else if (call.Trace.TraceParent is { } traceparent)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceparent);
            if (call.Trace.TraceState is { } tracestate)
            {
                request.Headers.TryAddWithoutValidation("tracestate", tracestate);
            }
        }
        else
        {
            CopyIfPresent("traceparent");
            CopyIfPresent("tracestate");
        }

        return request;

        void CopyIfPresent(string name)
        {
            if (call.Headers.TryGetValue(name, out var value) && value.Count > 0)
            {
                request.Headers.TryAddWithoutValidation(name, value.ToString());
            }
        }
    }

    private static HopTrace StartHop(bool local, string appId, string method, IHeaderDictionary headers)
    {
        if (HopTraceContext.Enabled && Activity.Current is null)
        {
            // Nothing records spans: only the trace context is passed on (no Activity per call).
            var (traceparent, tracestate) = HopTraceContext.Next(headers);
            return new HopTrace(null, traceparent, tracestate);
        }

        return new HopTrace(local
            ? StartSpan($"CallLocal/{appId}/{method}", ActivityKind.Server, headers, appId, method)
            : StartSpan($"InvokeService/{appId}", ActivityKind.Client, headers, appId, method), null, null);
    }

    private static Activity? StartSpan(string name, ActivityKind kind, IHeaderDictionary headers, string appId, string method)
    {
        // ASP.NET Core's own request activity (when something listens) already continues the caller's trace.
        var parent = Activity.Current?.Context ?? default;
        if (Activity.Current is null && headers.TryGetValue("traceparent", out var traceparent) &&
            ActivityContext.TryParse(traceparent.ToString(), headers["tracestate"].ToString(), isRemote: true, out var parsed))
        {
            parent = parsed;
        }

        var activity = SidecarTelemetry.Source.StartActivity(name, kind, parent);
        if (activity is not { IsAllDataRequested: true })
        {
            // Propagation only (not sampled): tags would be built per call and never exported.
            return activity;
        }

        activity.SetTag("rpc.service", "ServiceInvocation");
        activity.SetTag("net.peer.name", appId);
        activity.SetTag("dapr.api", $"/v1.0/invoke/{appId}/method/{method}");
        return activity;
    }

    private static async Task CopyResponseAsync(HttpContext context, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = (int)response.StatusCode;
        InvocationHeaders.CopyResponseHeaders(response, context.Response);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        if (response.Content.Headers.ContentLength is { } length && !HttpMethods.IsHead(context.Request.Method) &&
            context.Response.StatusCode is not (StatusCodes.Status204NoContent or StatusCodes.Status304NotModified))
        {
            // A known length is passed on: headers and body leave in one write, with no chunked framing (and
            // its extra terminator write) on either hop. Only streams of unknown length (event streams) need
            // their headers sent before the first chunk.
            context.Response.ContentLength = length;
        }
        else
        {
            await context.Response.StartAsync(cancellationToken);
        }

        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);

                // Flush per chunk: an event stream must not wait for a buffer to fill.
                await context.Response.Body.FlushAsync(cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<BufferedResponse> BufferAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return new BufferedResponse((int)response.StatusCode, response, body, response.Content.Headers.ContentType?.ToString());
    }

    private async Task WriteFailureAsync(HttpContext context, string targetId, Exception e, Activity? activity)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (e is StatusCodeFailureException { State: BufferedResponse buffered })
        {
            // Retries gave up on a non-success answer: the caller gets the target's last answer as it was.
            context.Response.StatusCode = buffered.Status;
            foreach (var (name, values) in buffered.Headers)
            {
                context.Response.Headers.Append(name, values);
            }

            await context.Response.Body.WriteAsync(buffered.Body, context.RequestAborted);
            return;
        }

        var message = DescribeFailure(e);
        activity?.SetStatus(ActivityStatusCode.Error, message);
        logger.LogDebug("Service invocation of {Target} failed: {Error}", targetId, message);
        await DaprHttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE",
            $"failed to invoke, id: {targetId}, err: {message}");
    }

    private static string DescribeFailure(Exception e) => e switch
    {
        TimeoutRejectedException => "context deadline exceeded",
        CircuitBreakerOpenException => e.Message,
        InvocationFailedException => e.Message,
        StatusCodeFailureException s => $"the target answered with status {s.StatusCode}",
        _ => e.Message,
    };

    private static string ErrorMessage(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? json : json;
        }
        catch (JsonException)
        {
            return json;
        }
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength is > 0 ||
        (request.ContentLength is null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);

    private static StreamContent? BodyFrom(HttpRequest request)
    {
        if (!HasBody(request))
        {
            return null;
        }

        // Passing the caller's length on keeps the next hop off chunked framing (Kestrel already holds the
        // incoming body to that length).
        var content = new StreamContent(request.Body);
        content.Headers.ContentLength = request.ContentLength;
        return content;
    }

    private static async Task<byte[]> ReadAllAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    // daprd (1.18+) takes the method from Go's decoded path, %2F included: "orders%2F1" reaches the app as /orders/1 and
    // "a%2F..%2Fb" is cleaned to "b". Kestrel keeps %2F encoded and decodes "%252F" to the same text, so only a method
    // holding "%2F" is read again from the raw target (its last segments, as many as the method has).
    private static string DecodeSlashes(HttpContext context, string method)
    {
        if (!method.Contains("%2F", StringComparison.OrdinalIgnoreCase) || DaprPathParameters.RawPath(context) is not { } raw)
        {
            return method;
        }

        var count = method.Split('/').Length;
        var segments = raw.Split('/');
        return segments.Length < count ? method : Uri.UnescapeDataString(string.Join('/', segments[^count..]));
    }

    // daprd cleans the method path (no "..", no "."), then sends it as the app's path.
    private static string CleanMethod(string method)
    {
        if (IsClean(method))
        {
            return method;
        }

        var segments = new List<string>();
        foreach (var segment in method.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }

                continue;
            }

            segments.Add(segment);
        }

        return string.Join('/', segments) + (method.EndsWith('/') && segments.Count > 0 ? "/" : "");
    }

    // The usual method ("echo", "api/orders/1") has nothing to clean: answered without splitting (hot path).
    private static bool IsClean(string method)
    {
        if (method.Length == 0 || method[0] == '/')
        {
            return method.Length == 0;
        }

        foreach (var range in method.AsSpan().Split('/'))
        {
            var segment = method.AsSpan(range);
            if (segment is "." or ".." || (segment.IsEmpty && range.End.Value != method.Length))
            {
                return false;
            }
        }

        return true;
    }

    private static string EscapePath(string method)
    {
        // Unreserved characters and '/' need no escaping: the common case keeps the string as it is.
        foreach (var c in method)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' or '.' or '~'))
            {
                return string.Join('/', method.Split('/').Select(Uri.EscapeDataString));
            }
        }

        return method;
    }

    private sealed record OutgoingCall(string AppId, string Verb, string Method, string Query, IHeaderDictionary Headers, bool FromSidecar, HopTrace Trace)
    {
        /// <summary>The escaped method path and query, as the target's app (or its sidecar after the app id) receives them.</summary>
        public string Path { get; } = $"{EscapePath(Method)}{Query}";
    }

    /// <summary>The span of a hop, or (when nothing records spans) just the trace context it passes on.</summary>
    private readonly record struct HopTrace(Activity? Activity, string? TraceParent, string? TraceState);
}
