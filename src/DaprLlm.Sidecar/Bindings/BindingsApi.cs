using System.Text.Json;
using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.Bindings;

/// <summary>daprd's output bindings HTTP API: POST|PUT /v1.0/bindings/{name} with {data, metadata, operation}.</summary>
public static class BindingsApi
{
    public static WebApplication MapBindingsApi(this WebApplication app)
    {
        app.MapMethods("/v1.0/bindings/{name}", ["POST", "PUT"], InvokeAsync).UnescapeLikeDaprd();
        return app;
    }

    private static async Task<IResult> InvokeAsync(string name, HttpContext context, BindingService bindings)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
            if (body.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("json: cannot unmarshal non-object into Go value of type http.OutputBindingRequest");
            }
        }
        catch (JsonException e)
        {
            return DaprHttpErrors.Error(400, "ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {e.Message}");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in m.EnumerateObject())
            {
                metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }

        foreach (var header in new[] { "traceparent", "tracestate", "baggage" })
        {
            if (context.Request.Headers.TryGetValue(header, out var value) && !metadata.ContainsKey(header))
            {
                metadata[header] = value.ToString();
            }
        }

        // daprd marshals "data" back to JSON: a JSON string is sent with its quotes, an absent one as null.
        var data = body.TryGetProperty("data", out var d) ? JsonSerializer.SerializeToUtf8Bytes(d) : "null"u8.ToArray();
        var operation = body.TryGetProperty("operation", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : "";
        var (response, error) = await bindings.InvokeAsync(name, new BindingRequest(operation, data, metadata), context.RequestAborted);
        if (response is not null)
        {
            foreach (var (key, value) in response.Metadata)
            {
                context.Response.Headers.Append("metadata." + key, value);
            }
        }

        if (error is not null)
        {
            return DaprHttpErrors.Error(500, "ERR_INVOKE_OUTPUT_BINDING", $"error invoking output binding {name}: {error}");
        }

        return response is null ? Results.NoContent() : Results.Bytes(response.Data, "application/json");
    }
}
