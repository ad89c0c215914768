using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;

namespace DaprLlm.Sidecar.Http;

/// <summary>
/// daprd routes on the escaped path and passes every route parameter through Go's url.QueryUnescape
/// (unescapeRequestParametersHandler): "orders%2F1" is key "orders/1", "a+b" is "a b", a bad escape is 400.
/// ASP.NET binds from Kestrel's decoded path, which keeps %2F encoded and '+' as it is (and cannot tell a raw
/// "%2F" from "%252F"), so marked endpoints get their parameters re-read from the raw request target.
/// </summary>
public static class DaprPathParameters
{
    /// <summary>Marks endpoints whose route parameters daprd unescapes (every daprd route with a {parameter}).</summary>
    public static TBuilder UnescapeLikeDaprd<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(Marker.Instance);

    /// <summary>Rewrites the route values of marked endpoints; call after routing, before the endpoints run.</summary>
    public static WebApplication UseDaprPathParameters(this WebApplication app)
    {
        app.Use((context, next) =>
            context.GetEndpoint() is RouteEndpoint endpoint && endpoint.Metadata.GetMetadata<Marker>() is not null && Unescape(context, endpoint.RoutePattern) is { } refusal
                ? refusal
                : next(context));
        return app;
    }

    /// <summary>The request target's path as the client sent it (still escaped), leading slashes collapsed as the pipeline does; null if unknown.</summary>
    public static string? RawPath(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target) || target[0] != '/')
        {
            return null;
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target : target[..query];
        return "/" + path.TrimStart('/');
    }

    /// <summary>Go's url.QueryUnescape: %XX decoded, '+' is a space; false with the bad escape (as Go quotes it) otherwise.</summary>
    public static bool TryQueryUnescape(string text, out string result, out string badEscape)
    {
        result = text;
        badEscape = "";
        if (text.AsSpan().IndexOfAny('%', '+') < 0)
        {
            return true;
        }

        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    badEscape = text.Substring(i, Math.Min(3, text.Length - i));
                    return false;
                }

                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c == '+')
            {
                bytes.Add((byte)' ');
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                var length = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(text.Substring(i, length)));
                i += length - 1;
            }
        }

        result = Encoding.UTF8.GetString(bytes.ToArray());
        return true;
    }

    private static Task? Unescape(HttpContext context, RoutePattern pattern)
    {
        var raw = RawPath(context);
        var decoded = context.Request.Path.Value;
        if (raw is null || decoded is null)
        {
            return null;
        }

        // Kestrel decodes within segments only (%2F stays), so raw and decoded segments line up one to one; when they
        // may not (dot segments removed, empty segments), the decoded values are kept.
        var segments = raw[1..].Split('/');
        if (raw.Contains("//", StringComparison.Ordinal) || segments.Length != decoded.TrimStart('/').Split('/').Length)
        {
            return null;
        }

        for (var i = 0; i < pattern.PathSegments.Count && i < segments.Length; i++)
        {
            if (pattern.PathSegments[i].Parts is not [RoutePatternParameterPart parameter])
            {
                continue;
            }

            var value = parameter.IsCatchAll ? string.Join('/', segments[i..]) : segments[i];
            if (!TryQueryUnescape(value, out var unescaped, out var bad))
            {
                // daprd answers with Go's http.Error: a plain-text 400.
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                context.Response.ContentType = "text/plain; charset=utf-8";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                return context.Response.WriteAsync($"failed to unescape request parameter \"{parameter.Name}\". Error: invalid URL escape \"{bad}\"\n");
            }

            context.Request.RouteValues[parameter.Name] = unescaped;
        }

        return null;
    }

    private sealed class Marker
    {
        public static readonly Marker Instance = new();
    }
}
