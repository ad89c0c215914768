using System.Diagnostics;
using System.Threading.Channels;

namespace DaprLlm.Inference.Batching;

/// <summary>Sampling and stopping parameters of one request, already validated.</summary>
public sealed record SamplingParameters(int MaxTokens, double Temperature, double TopP, int TopK, int? Seed, IReadOnlyList<string> Stop);

/// <summary>What the scheduler reports to the request handler, in order: tokens, then exactly one end or error.</summary>
public abstract record GenerationEvent
{
    public sealed record Token(string Text) : GenerationEvent;

    public sealed record End(string FinishReason, int PromptTokens, int CompletionTokens) : GenerationEvent;

    /// <summary>A failure with the HTTP status and error code it maps to (503 generation_failed unless said otherwise).</summary>
    public sealed record Failed(string Message, int Status = 503, string Code = "generation_failed") : GenerationEvent;
}

/// <summary>One queued or running request: its prompt ids, parameters, cancellation and the channel it reads.</summary>
public sealed class GenerationJob
{
    private readonly Channel<GenerationEvent> _events = Channel.CreateUnbounded<GenerationEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    // Non-streamed requests: tokens are kept here instead of waking the reader once per token (see Write).
    private readonly System.Text.StringBuilder? _collected;

    /// <param name="streamTokens">
    /// False for a request answered in one piece: its tokens are collected on the decode thread (<see cref="CollectedText"/>)
    /// and its reader wakes only for the end, not for every token of every row of every step.
    /// </param>
    public GenerationJob(IReadOnlyList<int> promptIds, SamplingParameters parameters, CancellationToken cancellationToken, bool streamTokens = true)
    {
        _collected = streamTokens ? null : new System.Text.StringBuilder();
        PromptIds = promptIds;
        Parameters = parameters;
        CancellationToken = cancellationToken;
        // Seeded per request so the same seed and input give the same tokens whoever shares the batch.
        Random = new Random(parameters.Seed ?? System.Random.Shared.Next());
    }

    public IReadOnlyList<int> PromptIds { get; }

    public SamplingParameters Parameters { get; }

    public CancellationToken CancellationToken { get; }

    public Random Random { get; }

    public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

    public long? FirstTokenAt { get; set; }

    public ChannelReader<GenerationEvent> Events => _events.Reader;

    /// <summary>The text of a non-streamed request; complete once its end event has been read.</summary>
    public string CollectedText => _collected?.ToString() ?? "";

    internal void Write(GenerationEvent e)
    {
        if (_collected is not null && e is GenerationEvent.Token token)
        {
            _collected.Append(token.Text);
            return;
        }

        _events.Writer.TryWrite(e);
        if (e is not GenerationEvent.Token)
        {
            _events.Writer.TryComplete();
        }
    }
}
