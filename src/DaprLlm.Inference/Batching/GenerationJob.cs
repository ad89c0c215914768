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

    // Non-streamed requests: tokens are kept here instead of waking the reader once per token (see Buffer).
    private readonly System.Text.StringBuilder? _collected;

    // Streamed tokens sampled but not yet handed to the reader; only the scheduler thread that owns the row touches it.
    private readonly List<GenerationEvent> _held = [];
    private long _lastPublished;

    /// <param name="streamTokens">
    /// False for a request answered in one piece: its tokens are collected on the decode thread (<see cref="CollectedText"/>)
    /// and its reader wakes only for the end, not for every token of every row of every step.
    /// </param>
    /// <param name="timeout">How long the generation may take from now, queueing included (<see cref="TimedOut"/>); none when null.</param>
    public GenerationJob(IReadOnlyList<int> promptIds, SamplingParameters parameters, CancellationToken cancellationToken, bool streamTokens = true,
        TimeSpan? timeout = null)
    {
        Timeout = timeout;
        _deadline = timeout is { } t ? EnqueuedAt + (long)(t.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        _collected = streamTokens ? null : new System.Text.StringBuilder();
        PromptIds = promptIds;
        Parameters = parameters;
        CancellationToken = cancellationToken;
        // Seeded per request so the same seed and input give the same tokens whoever shares the batch.
        Random = new Random(parameters.Seed ?? System.Random.Shared.Next());
    }

    public IReadOnlyList<int> PromptIds { get; }

    public SamplingParameters Parameters { get; }

    /// <summary>The request's logit bias and penalties; null when it has none.</summary>
    public LogitAdjuster? Logits { get; init; }

    public CancellationToken CancellationToken { get; }

    public Random Random { get; }

    public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

    private readonly long _deadline;

    /// <summary>The generation time limit this job was given (Inference:GenerationTimeoutSeconds), if any.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>Whether the job has run past its time limit at <paramref name="now"/> (a Stopwatch timestamp).</summary>
    public bool TimedOut(long now) => now > _deadline;

    public long? FirstTokenAt { get; set; }

    public ChannelReader<GenerationEvent> Events => _events.Reader;

    /// <summary>The text of a non-streamed request; complete once its end event has been read.</summary>
    public string CollectedText => _collected?.ToString() ?? "";

    /// <summary>Hands an event to the reader now (remote models, ends and failures), after any held tokens.</summary>
    internal void Write(GenerationEvent e)
    {
        if (_collected is not null && e is GenerationEvent.Token token)
        {
            _collected.Append(token.Text);
            return;
        }

        PublishHeld();
        _events.Writer.TryWrite(e);
        if (e is not GenerationEvent.Token)
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Keeps a token for the next <see cref="Publish"/> instead of waking the reader for it: the decode thread
    /// samples a token for every row of a step, and waking each reader per token costs more CPU than the step
    /// itself on a small machine. The end event (<see cref="Write"/>) always sends held tokens first.
    /// </summary>
    internal void Buffer(string text)
    {
        if (_collected is not null)
        {
            _collected.Append(text);
        }
        else
        {
            _held.Add(new GenerationEvent.Token(text));
        }
    }

    /// <summary>
    /// Gives held tokens to the reader (one wake-up for all of them, each still its own event, in order) when none
    /// was published yet — the first token is never delayed — or when <paramref name="interval"/> timestamps
    /// have passed since the last publish.
    /// </summary>
    internal void Publish(long now, long interval)
    {
        if (_held.Count == 0 || (_lastPublished != 0 && now - _lastPublished < interval))
        {
            return;
        }

        _lastPublished = now;
        PublishHeld();
    }

    private void PublishHeld()
    {
        foreach (var e in _held)
        {
            _events.Writer.TryWrite(e);
        }

        _held.Clear();
    }
}
