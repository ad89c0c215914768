using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Telemetry;
using Microsoft.Extensions.AI;
using OpenAI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using ContractMessage = DaprLlm.Contracts.Inference.ChatMessage;

namespace DaprLlm.Inference.Remote;

/// <summary>
/// A catalog model served by a remote OpenAI-compatible endpoint through Microsoft.Extensions.AI: chat (streamed
/// into the same <see cref="GenerationJob"/> events as local models) or embeddings. A failed call (endpoint down,
/// 5xx, timeout, rejected key) marks the model unhealthy until a call succeeds, so the gateway's breaker routes
/// to the fallback tier; the remote's own 4xx and 429 answers are the caller's, not the model's, failures.
/// </summary>
public sealed partial class RemoteModel : IDisposable
{
    private readonly IChatClient? _chat;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;
    private readonly SemaphoreSlim _concurrency;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private volatile bool _failed;

    public RemoteModel(string id, ModelEntryOptions entry, string apiKey, int maxConcurrency, InferenceMetrics metrics, ILogger logger)
    {
        Id = id;
        Name = entry.RemoteModel.Length > 0 ? entry.RemoteModel : id;
        _metrics = metrics;
        _logger = logger;
        _concurrency = new SemaphoreSlim(maxConcurrency, maxConcurrency);
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(entry.Endpoint),
            NetworkTimeout = TimeSpan.FromSeconds(entry.TimeoutSeconds),
            // One owner for retries: the gateway's breaker and fallback tier, not this client (STYLE.md rule 8).
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        // Keyless local servers (vLLM, llama.cpp) still need a non-empty credential for the client.
        var client = new OpenAIClient(new ApiKeyCredential(apiKey.Length > 0 ? apiKey : "none"), options);
        if (entry.Kind == ModelKinds.Embedding)
        {
            _embeddings = client.GetEmbeddingClient(Name).AsIEmbeddingGenerator();
        }
        else
        {
            _chat = client.GetChatClient(Name).AsIChatClient();
        }
    }

    public string Id { get; }

    /// <summary>The model name sent to the endpoint.</summary>
    public string Name { get; }

    /// <summary>False after a call failed on the endpoint's side, until one succeeds.</summary>
    public bool Healthy => !_failed;

    public bool IsChat => _chat is not null;

    /// <summary>
    /// Starts streaming the completion into <paramref name="job"/>'s events; false when this model already runs
    /// as many calls as the service admits (the caller answers 429).
    /// </summary>
    public bool TryStart(GenerationJob job, IReadOnlyList<ContractMessage> messages, RemoteSampling? sampling = null)
    {
        if (_chat is null || !_concurrency.Wait(0))
        {
            return false;
        }

        _ = Task.Run(() => StreamAsync(job, messages, sampling ?? RemoteSampling.None));
        return true;
    }

    private async Task StreamAsync(GenerationJob job, IReadOnlyList<ContractMessage> messages, RemoteSampling sampling)
    {
        var p = job.Parameters;
        var options = new ChatOptions
        {
            MaxOutputTokens = p.MaxTokens,
            Temperature = (float)p.Temperature,
            TopP = p.TopP < 1.0 ? (float)p.TopP : null,
            TopK = p.TopK > 0 ? p.TopK : null,
            Seed = p.Seed,
            StopSequences = p.Stop.Count > 0 ? [.. p.Stop] : null,
        };
        sampling.ApplyTo(options);
        var history = messages.Select(m => new AiChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        string? finish = null;
        int promptTokens = 0, completionTokens = 0;
        try
        {
            await foreach (var update in _chat!.GetStreamingResponseAsync(history, options, job.CancellationToken))
            {
                var text = update.Text;
                if (text.Length > 0)
                {
                    job.FirstTokenAt ??= Stopwatch.GetTimestamp();
                    job.Write(new GenerationEvent.Token(text));
                }

                finish = FinishReason(update.FinishReason) ?? finish;
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usage)
                    {
                        promptTokens = (int)(usage.Details.InputTokenCount ?? promptTokens);
                        completionTokens = (int)(usage.Details.OutputTokenCount ?? completionTokens);
                    }
                }
            }

            _failed = false;
            job.Write(new GenerationEvent.End(finish ?? "stop", promptTokens, completionTokens));
            _metrics.RequestFinished(Id, ExecutionProviderNames.Remote, Stopwatch.GetElapsedTime(job.EnqueuedAt).TotalSeconds,
                job.FirstTokenAt is { } first ? Stopwatch.GetElapsedTime(job.EnqueuedAt, first).TotalSeconds : null,
                promptTokens, completionTokens, finish ?? "stop");
        }
        catch (OperationCanceledException) when (job.CancellationToken.IsCancellationRequested)
        {
            job.Write(new GenerationEvent.End("cancelled", promptTokens, completionTokens));
        }
        catch (Exception e)
        {
            // Anything else (a 5xx, a refused connection, a timeout, a malformed stream) fails this request with an
            // error event: the request must always end, and the model is reported failed.
            job.Write(Fail(e));
        }
        finally
        {
            _concurrency.Release();
        }
    }

    /// <summary>Embeds the texts remotely; returns the vectors and prompt tokens, or the failure as an event.</summary>
    public async Task<(IReadOnlyList<float[]>? Vectors, int Tokens, GenerationEvent.Failed? Error)> EmbedAsync(IReadOnlyList<string> texts,
        CancellationToken cancellationToken)
    {
        if (_embeddings is null || !_concurrency.Wait(0))
        {
            return (null, 0, new GenerationEvent.Failed($"the model '{Id}' is at capacity; retry later", 429, "queue_full"));
        }

        try
        {
            var result = await _embeddings.GenerateAsync(texts, cancellationToken: cancellationToken);
            _failed = false;
            return (result.Select(e => e.Vector.ToArray()).ToList(), (int)(result.Usage?.InputTokenCount ?? 0), null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (null, 0, Fail(e));
        }
        finally
        {
            _concurrency.Release();
        }
    }

    /// <summary>
    /// Maps a remote failure to our error shape: the remote's 400/404/422 is a bad request, its 429 is capacity,
    /// everything else (5xx, auth, network, timeout) is this model failing.
    /// </summary>
    private GenerationEvent.Failed Fail(Exception e)
    {
        var status = e is ClientResultException { Status: > 0 } r ? r.Status : 0;
        switch (status)
        {
            case 400 or 404 or 413 or 422:
                return new GenerationEvent.Failed($"the remote model '{Id}' rejected the request (HTTP {status})", 400, "invalid_request");
            case 429:
                return new GenerationEvent.Failed($"the remote model '{Id}' is at capacity; retry later", 429, "queue_full");
            default:
                _failed = true;
                LogRemoteFailed(_logger, Id, status, e.GetType().Name);
                return new GenerationEvent.Failed($"the remote model '{Id}' is unavailable", 503, "model_unavailable");
        }
    }

    private static string? FinishReason(ChatFinishReason? reason) =>
        reason is null ? null
        : reason == ChatFinishReason.Length ? "length"
        : reason == ChatFinishReason.ContentFilter ? "content_filter"
        : "stop";

    public void Dispose()
    {
        _chat?.Dispose();
        _embeddings?.Dispose();
        _concurrency.Dispose();
    }

    // Status and exception type only: the remote's message may echo the prompt.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote model {Model} failed: HTTP {Status}, {Error}")]
    private static partial void LogRemoteFailed(ILogger logger, string model, int status, string error);
}
