using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Safety.Classification.Models;

/// <summary>
/// The ML layer's embeddings from the inference app's v1/embeddings: one text per call, bounded by
/// <paramref name="timeout"/>, no retries of its own. <paramref name="http"/> (owned and disposed here) has the inference
/// app's method root as its base address; long texts are truncated, as the in-process embedder does; the safety app points it at its sidecar's service invocation, a benchmark
/// at any sidecar. Every failure becomes <see cref="EmbeddingsUnavailableException"/>.
/// </summary>
public sealed class ServiceEmbeddingSource(HttpClient http, string model, TimeSpan timeout) : IEmbeddingSource, IDisposable
{
    public async ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.PostAsJsonAsync(ServiceMethods.Embeddings, new EmbeddingRequest(model, [text], Truncate: true),
                EmbeddingsJson.Default.EmbeddingRequest, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new EmbeddingsUnavailableException($"the embedding service answered {(int)response.StatusCode}");
            }

            var result = await response.Content.ReadFromJsonAsync(EmbeddingsJson.Default.EmbeddingResult, deadline.Token);
            return result is { Data: [{ } vector] } ? vector : throw new EmbeddingsUnavailableException("the embedding service answered without exactly one vector");
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
