using DaprLlm.Outbox;
using DaprLlm.Safety.Classification.Models;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// The ML layer's embedding source for <see cref="EmbeddingSource.InferenceService"/>: the inference app's
/// v1/embeddings through this app's sidecar (Dapr service invocation). A plain HttpClient, not the factory's:
/// ServiceDefaults gives those Polly retries, and Dapr resiliency already owns retries on this path.
/// </summary>
public static class InferenceEmbeddings
{
    public static ServiceEmbeddingSource Create(ModerationEmbeddingsOptions options, IConfiguration configuration)
    {
        var sidecar = DaprHttpOutboxSink.DefaultEndpoint(configuration);
        var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2) })
        {
            BaseAddress = new Uri(sidecar, $"v1.0/invoke/{options.AppId}/method/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (DaprHttpOutboxSink.DefaultApiToken(configuration) is { Length: > 0 } token)
        {
            http.DefaultRequestHeaders.Add("dapr-api-token", token);
        }

        return new ServiceEmbeddingSource(http, options.Model, TimeSpan.FromMilliseconds(options.TimeoutMilliseconds));
    }
}
