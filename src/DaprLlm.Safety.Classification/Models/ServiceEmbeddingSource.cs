using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// The ML layer's embeddings from the inference app's v1/embeddings: one call per text, or per list of up to
/// <see cref="EmbeddingLimits.MaxInputsPerCall"/> texts (a long text's windows), each call bounded by
/// <paramref name="timeout"/>, no retries of its own. The safety model's catalog entry embeds one text per ONNX call
/// (OneTextPerCall), so a listed text gets the same vector as one sent alone. <paramref name="http"/> (owned and
/// disposed here) has the inference app's method root as its base address; long texts are truncated, as the
/// in-process embedder does; the safety app points it at its sidecar's service invocation, a benchmark at any sidecar.
/// Every failure becomes <see cref="EmbeddingsUnavailableException"/>.
/// </summary>
public sealed class ServiceEmbeddingSource(HttpClient http, string model, TimeSpan timeout) : IEmbeddingSource, IDisposable
{
    public async ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken) =>
        (await PostAsync([text], cancellationToken))[0];

    public async ValueTask<IReadOnlyList<float[]>> EmbedManyAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count <= EmbeddingLimits.MaxInputsPerCall)
        {
            return texts.Count == 0 ? [] : await PostAsync(texts, cancellationToken);
        }

        var vectors = new List<float[]>(texts.Count);
        foreach (var chunk in texts.Chunk(EmbeddingLimits.MaxInputsPerCall))
        {
            vectors.AddRange(await PostAsync(chunk, cancellationToken));
        }

        return vectors;
    }

    private async Task<IReadOnlyList<float[]>> PostAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.PostAsJsonAsync(ServiceMethods.Embeddings, new EmbeddingRequest(model, texts, Truncate: true),
                EmbeddingsJson.Default.EmbeddingRequest, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new EmbeddingsUnavailableException($"the embedding service answered {(int)response.StatusCode}");
            }

            var result = await response.Content.ReadFromJsonAsync(EmbeddingsJson.Default.EmbeddingResult, deadline.Token);
            return result?.Data is { } data && data.Count == texts.Count && data.All(v => v is not null)
                ? data
                : throw new EmbeddingsUnavailableException($"the embedding service answered without exactly one vector per text ({texts.Count})");
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EmbeddingsUnavailableException($"the embedding service did not answer within {timeout.TotalMilliseconds:0} ms", e);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException)
        {
            throw new EmbeddingsUnavailableException($"the embedding service could not be reached or answered malformed JSON ({e.GetType().Name})", e);
        }
    }

    public void Dispose() => http.Dispose();
}

/// <summary>Source-generated JSON for the inference embedding contract (camelCase, as the inference app writes it).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResult))]
internal sealed partial class EmbeddingsJson : JsonSerializerContext;
