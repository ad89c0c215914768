using System.Net.Http.Headers;
using Microsoft.Extensions.Primitives;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>Which headers cross a sidecar hop, in both directions (daprd's rules: RFC 7230 hop-by-hop headers never do).</summary>
public static class InvocationHeaders
{
    public const string CallerAppId = "dapr-caller-app-id";
    public const string CalleeAppId = "dapr-callee-app-id";
    public const string CallerNamespace = "dapr-caller-namespace";
    public const string ApiToken = "dapr-api-token";
    public const string AppIdHeader = "dapr-app-id";

    /// <summary>Set by a sidecar on answers it made itself (the app was not reached), so the caller's sidecar reports ERR_DIRECT_INVOKE.</summary>
    public const string SidecarError = "x-daprllm-invoke-error";

    /// <summary>Proves a call on the internal route comes from a sidecar of the same run (see <see cref="InternalInvocationAuth"/>).</summary>
    public const string InternalToken = "x-daprllm-internal-token";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "TE", "Trailer",
        "Proxy-Authorization", "Proxy-Authenticate",
    };

    // Re-created on every hop: framing, the target host, identity stamped by the sidecar, trace context of the new span.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Expect", ApiToken, AppIdHeader, CallerAppId, CalleeAppId, CallerNamespace,
        "traceparent", "tracestate", SidecarError, InternalToken,
    };

    /// <summary>Copies the caller's request headers; content headers go to <paramref name="content"/> when there is one.</summary>
    public static void CopyRequestHeaders(IHeaderDictionary from, HttpRequestMessage to, HttpContent? content, bool fromSidecar)
    {
        // Hot path (every hop): no LINQ, no per-call sets unless the caller nominated headers in Connection.
        var nominated = Nominated(from.Connection);
        foreach (var (name, values) in from)
        {
            if (name.StartsWith(':') || HopByHop.Contains(name) || nominated?.Contains(name) == true)
            {
                continue;
            }

            // Identity headers from another sidecar are trusted; from an app they are replaced (no spoofing).
            if (NotForwarded.Contains(name) && !(fromSidecar && name is CallerAppId or CalleeAppId or CallerNamespace))
            {
                continue;
            }

            if (values.Count == 1)
            {
                if (!to.Headers.TryAddWithoutValidation(name, values[0]))
                {
                    content?.Headers.TryAddWithoutValidation(name, values[0]);
                }
            }
            else if (!to.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
    }

    /// <summary>Copies the target's answer headers onto the caller's response.</summary>
    public static void CopyResponseHeaders(HttpResponseMessage from, HttpResponse to)
    {
        // NonValidated views read the raw values without parsing or allocating arrays for single values.
        var nominated = from.Headers.NonValidated.TryGetValues("Connection", out var connection) ? Nominated(Values(connection)) : null;
        Copy(from.Headers.NonValidated);
        Copy(from.Content.Headers.NonValidated);

        void Copy(HttpHeadersNonValidated headers)
        {
            foreach (var (name, values) in headers)
            {
                if (HopByHop.Contains(name) || nominated?.Contains(name) == true || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) ||
                    name.Equals(SidecarError, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                to.Headers.Append(name, Values(values));
            }
        }
    }

    private static StringValues Values(HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return new StringValues(values.ToString());
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }

        return new StringValues(array);
    }

    private static HashSet<string>? Nominated(StringValues connection)
    {
        if (StringValues.IsNullOrEmpty(connection))
        {
            return null;
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in connection)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                names.Add(token);
            }
        }

        return names;
    }
}
