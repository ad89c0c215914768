using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Gateway.Upstream;

/// <summary>The inference app: generation (whole or streamed) and embeddings, by app id.</summary>
public sealed class InferenceClient(IUpstreamChannels channels)
{
    public const string StreamMethod = "v1/generate/stream";
    public const string EmbeddingsMethod = "v1/embeddings";

    public Task<GenerationResult> GenerateAsync(string appId, GenerateCall call, CancellationToken ct) =>
        UpstreamCall.PostAsync<GenerateCall, GenerationResult>(channels.For(appId), appId, ServiceMethods.Generate, call, ct);

    public Task<EmbeddingsAnswer> EmbedAsync(string appId, EmbeddingsCall call, CancellationToken ct) =>
        UpstreamCall.PostAsync<EmbeddingsCall, EmbeddingsAnswer>(channels.For(appId), appId, EmbeddingsMethod, call, ct);

    /// <summary>Reads inference's SSE stream event by event; disposing the enumerator cancels generation upstream.</summary>
    public async IAsyncEnumerable<GenerateStreamEvent> StreamAsync(string appId, GenerateCall call, [EnumeratorCancellation] CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, StreamMethod) { Content = UpstreamCall.Body(call) };
        using var response = await UpstreamCall.SendAsync(channels.For(appId), appId, request, HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            GenerateStreamEvent? ev;
            try
            {
                ev = JsonSerializer.Deserialize<GenerateStreamEvent>(line.AsSpan(5).Trim(), UpstreamCall.Json);
            }
            catch (JsonException e)
            {
                throw new UpstreamException(appId, 200, "inference stream carried a malformed event", e);
            }

            if (ev is not null)
            {
                yield return ev;
                if (ev.Type is "end" or "error")
                {
                    yield break;
                }
            }
        }

        // A clean close before the end event (a proxy ending the response) is a cut answer, not a finished one.
        throw new UpstreamException(appId, 502, "inference stream ended before its end event");
    }
}
