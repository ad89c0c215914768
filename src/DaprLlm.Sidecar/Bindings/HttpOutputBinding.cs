using System.Globalization;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Metadata;

namespace DaprLlm.Sidecar.Bindings;

/// <summary>
/// bindings.http: calls the component's url (plus the request's "path"). Request metadata whose name starts
/// with an upper-case letter becomes a header; the answer carries statusCode, status and the response headers.
/// A non-2xx answer is an error unless errorIfNot2XX is false, as in daprd.
/// </summary>
public sealed class HttpOutputBinding(HttpClient client, string url, bool errorIfNot2XX, TimeSpan? responseTimeout,
    string? securityToken, string? securityTokenHeader) : IOutputBinding, IComponentCapabilities
{
    public IReadOnlyList<string> Operations { get; } = ["create", "get", "head", "post", "put", "patch", "delete", "options", "trace"];

    public IReadOnlyList<string> Capabilities { get; } = ["OUTPUT_BINDING"];

    public async Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken)
    {
        var target = url;
        if (request.Metadata.TryGetValue("path", out var path) && path.Length > 0)
        {
            target = url.TrimEnd('/') + "/" + path.TrimStart('/');
        }

        var failOnStatus = errorIfNot2XX;
        if (request.Metadata.TryGetValue("errorIfNot2XX", out var flag) && flag.Length > 0)
        {
            failOnStatus = flag.ToLowerInvariant() is "true" or "1" or "yes" or "y" or "on";
        }

        var method = request.Operation.ToUpperInvariant() is "CREATE" ? "POST" : request.Operation.ToUpperInvariant();
        using var message = new HttpRequestMessage(new HttpMethod(method), target);
        if (method is "PUT" or "POST" or "PATCH")
        {
            message.Content = new ByteArrayContent(request.Data);
            if (!request.Metadata.ContainsKey("Content-Type"))
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            }
        }
        else if (method is not ("GET" or "HEAD" or "DELETE" or "OPTIONS" or "TRACE"))
        {
            throw new InvalidOperationException($"invalid operation: {request.Operation}");
        }

        if (!request.Metadata.ContainsKey("Accept"))
        {
            message.Headers.TryAddWithoutValidation("Accept", "application/json; charset=utf-8");
        }

        if (!string.IsNullOrEmpty(securityToken) && !string.IsNullOrEmpty(securityTokenHeader))
        {
            message.Headers.TryAddWithoutValidation(securityTokenHeader, securityToken);
        }

        foreach (var (name, value) in request.Metadata)
        {
            if (name.Length > 0 && char.IsAsciiLetterUpper(name[0]) && !message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content?.Headers.Remove(name);
                message.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        foreach (var header in new[] { "traceparent", "tracestate", "baggage" })
        {
            if (request.Metadata.TryGetValue(header, out var value) && value.Length > 0)
            {
                message.Headers.Remove(header);
                message.Headers.TryAddWithoutValidation(header, value);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (responseTimeout is { } t)
        {
            timeout.CancelAfter(t);
        }

        using var response = await client.SendAsync(message, timeout.Token);
        var data = await response.Content.ReadAsByteArrayAsync(timeout.Token);
        var code = (int)response.StatusCode;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["statusCode"] = code.ToString(CultureInfo.InvariantCulture),
            ["status"] = $"{code} {response.ReasonPhrase}",
        };
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            metadata[name] = string.Join(", ", values);
        }

        var error = failOnStatus && code / 100 != 2 ? $"received status code {code}" : null;
        return new BindingResponse(data, metadata, error);
    }
}

/// <summary>Builds bindings.http components (metadata url, errorIfNot2XX, responseTimeout, securityToken, securityTokenHeader).</summary>
public sealed class HttpOutputBindingFactory(IHttpClientFactory clients) : IComponentFactory
{
    public const string HttpClientName = "bindings.http";

    public IReadOnlyCollection<string> Types { get; } = ["bindings.http"];

    public ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken)
    {
        var url = spec.Require("url");
        if (!Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            throw new ComponentConfigException(spec, $"metadata 'url' is not an absolute URL: '{url}'");
        }

        TimeSpan? timeout = spec.Get("responseTimeout") is { Length: > 0 } ? spec.GetDuration("responseTimeout", TimeSpan.Zero) : null;
        return ValueTask.FromResult<object>(new HttpOutputBinding(clients.CreateClient(HttpClientName), url, spec.GetBool("errorIfNot2XX", true),
            timeout, spec.Get("securityToken"), spec.Get("securityTokenHeader")));
    }
}
