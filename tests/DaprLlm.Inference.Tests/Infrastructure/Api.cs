using System.Net.Http.Json;
using System.Text.Json;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>Calls of the inference HTTP API as the gateway makes them (camelCase JSON).</summary>
public static class Api
{
    public static object Request(string content, int maxTokens = 24, double temperature = 0, int? seed = null, string[]? stop = null,
        double? topP = null, int? topK = null, string model = InferenceAppFactory.Model) => new
    {
        requestId = Guid.NewGuid().ToString("n"),
        model,
        messages = new[] { new { role = "user", content } },
        maxTokens,
        temperature,
        seed,
        topP,
        topK,
        stop,
    };

    public static async Task<JsonElement> GenerateAsync(HttpClient client, object request, CancellationToken ct)
    {
        using var response = await client.PostAsJsonAsync("/v1/generate", request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Reads an SSE response to its end; returns the parsed data events in order.</summary>
    public static async Task<List<JsonElement>> ReadEventsAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var events = new List<JsonElement>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone());
            }
        }

        return events;
    }

    public static HttpRequestMessage StreamRequest(object body) => new(HttpMethod.Post, "/v1/generate/stream") { Content = JsonContent.Create(body) };
}
