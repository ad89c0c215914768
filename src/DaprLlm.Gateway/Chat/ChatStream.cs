using System.Text;
using System.Text.Json;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Chat;

/// <summary>
/// A streamed chat completion as OpenAI sends it (SSE chat.completion.chunk ... data: [DONE]), with output
/// moderation by the tenant's policy: buffer (check everything before release), window (hold back and check
/// a sliding window; on a block stop with content_filter and an error event) or async (release at once,
/// check afterwards, flag and audit). The reservation is settled with the tokens actually generated,
/// also when the client disconnects.
/// </summary>
public static class ChatStream
{
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static async Task RunAsync(HttpContext context, GenerationPipeline pipeline, GenerationContext g, SafetyVerdict input,
        bool includeUsage, ChatOptions options, TimeProvider time, ILogger logger, bool textCompletion = false)
    {
        var ct = context.RequestAborted;
        var (events, region) = await pipeline.OpenStreamAsync(g, ct);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var released = new StringBuilder();
        var full = new StringBuilder();
        var pending = new StringBuilder();
        var completionTokens = 0;
        int? promptTokens = null;
        string finishReason = "stop";
        SafetyVerdict? blocked = null;
        SafetyVerdict? lateFlag = null;

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";

        var outputUnchecked = false;
        try
        {
            // The upstream stream is disposed (its generation cancelled) on every way out, the first write's included.
            await using (events)
            {
                if (!textCompletion)
                {
                    await WriteAsync(response, Chunk(g, created, new ChunkDelta("assistant", ""), null), ct);
                }

                while (blocked is null && await events.MoveNextAsync())
                {
                    var ev = events.Current;
                    switch (ev.Type)
                    {
                        case "token":
                            completionTokens++;
                            full.Append(ev.Text);
                            pending.Append(ev.Text);
                            if (g.StreamingPolicy == Tiers.PolicyAsync)
                            {
                                blocked = await ReleaseAsync(pipeline, g, response, created, released, pending, checkFirst: false, holdBack: 0, options, textCompletion, ct);
                            }
                            else if (g.StreamingPolicy == Tiers.PolicyWindow && pending.Length >= 2 * options.ModerationWindowChars)
                            {
                                // A window's last ModerationWindowChars stay held for the next check (see ReleaseAsync).
                                blocked = await ReleaseAsync(pipeline, g, response, created, released, pending, checkFirst: true,
                                    holdBack: options.ModerationWindowChars, options, textCompletion, ct);
                            }

                            break;
                        case "end":
                            finishReason = ev.FinishReason ?? "stop";
                            promptTokens = ev.PromptTokens;
                            completionTokens = ev.CompletionTokens > 0 ? ev.CompletionTokens : completionTokens;
                            break;
                        case "error":
                            throw new UpstreamException("inference", 502, "inference stream reported an error");
                    }
                }
            }

            if (blocked is null && pending.Length > 0)
            {
                // buffer: the whole answer is checked here; window: the last, shorter window.
                var text = g.StreamingPolicy == Tiers.PolicyBuffer ? full.ToString() : null;
                blocked = await ReleaseAsync(pipeline, g, response, created, released, pending, checkFirst: true, holdBack: 0, options, textCompletion, ct, text);
            }

            if (blocked is null && g.StreamingPolicy == Tiers.PolicyAsync)
            {
                try
                {
                    var verdict = await pipeline.CheckOutputAsync(g, full.ToString(), ct);
                    lateFlag = verdict.IsAllowed ? null : verdict;
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // The answer is already out: the stream ends normally and the audit says it was not checked,
                    // rather than an error event that makes SDKs retry (and pay) for an answer they have.
                    outputUnchecked = true;
                    logger.LogWarning("Stream {RequestId}: the async output check failed ({Error}); recorded as unchecked", g.RequestId, e.GetType().Name);
                }
            }

            var prompt = promptTokens ?? g.EstimatedPromptTokens;
            g.Ticket.Settle(prompt + completionTokens);
            await pipeline.RememberReviewAsync(g, blocked ?? lateFlag, ct);
            if (blocked is not null)
            {
                finishReason = "content_filter";
            }

            await WriteDeltaAsync(response, g, created, null, finishReason, textCompletion, ct);
            if (blocked is not null)
            {
                // As the non-streamed answers say it: a held answer is under review, a refused one filtered.
                var code = blocked is { IsReview: true, ReviewId: not null } ? "content_under_review" : "content_filter";
                await WriteAsync(response, new { error = new { message = Refusals.StreamMessage(blocked), type = "invalid_request_error", param = (string?)null, code } }, ct);
            }

            if (includeUsage)
            {
                await WriteAsync(response, new ChatCompletionChunk(g.RequestId, textCompletion ? "text_completion" : "chat.completion.chunk", created, g.Model, [],
                    new ChatCompletionUsage(prompt, completionTokens, prompt + completionTokens)), ct);
            }

            await response.Body.WriteAsync(Done, ct);
            await response.Body.FlushAsync(ct);

            var outcome = blocked is not null || lateFlag is not null ? RequestCompletedV1.Outcomes.FilteredOutput : RequestCompletedV1.Outcomes.Completed;
            pipeline.Publish(g, outcome, finishReason, prompt, completionTokens, input.Decision,
                outputUnchecked ? null : (blocked ?? lateFlag)?.Decision ?? "allow", region, full.ToString());
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Client disconnected: charge what was generated, give back the rest of the reservation.
            g.Ticket.Settle((promptTokens ?? g.EstimatedPromptTokens) + completionTokens);
            var verdict = blocked ?? lateFlag;
            if (verdict is null && g.StreamingPolicy == Tiers.PolicyAsync && released.Length > 0)
            {
                // Released unchecked: leaving before the end must not skip the check (or a review) of what was delivered.
                verdict = await CheckAfterDisconnectAsync(pipeline, g, released.ToString(), logger);
            }

            var outcome = verdict is { IsAllowed: false } ? RequestCompletedV1.Outcomes.FilteredOutput : RequestCompletedV1.Outcomes.Failed;
            pipeline.Publish(g, outcome, "cancelled", promptTokens ?? g.EstimatedPromptTokens, completionTokens,
                input.Decision, verdict?.Decision, region, full.ToString());
        }
        catch (Exception e)
        {
            // Any other failure after the stream started (a backend error, a timeout's cancellation, a bug): what was
            // generated is charged, and the client gets an error event and [DONE] instead of a stream cut short.
            g.Ticket.Settle((promptTokens ?? g.EstimatedPromptTokens) + completionTokens);
            pipeline.Publish(g, RequestCompletedV1.Outcomes.Failed, "error", promptTokens ?? g.EstimatedPromptTokens, completionTokens, input.Decision, null, region, full.ToString());
            logger.LogError("Stream {RequestId} failed after it started ({Error})", g.RequestId, e.GetType().Name);
            if (!ct.IsCancellationRequested)
            {
                await WriteAsync(response, new { error = new { message = "The stream was interrupted by a backend failure. Retry the request.", type = "server_error", param = (string?)null, code = "upstream_error" } }, CancellationToken.None);
                await response.Body.WriteAsync(Done, CancellationToken.None);
            }
        }
    }

    private static async Task<SafetyVerdict?> CheckAfterDisconnectAsync(GenerationPipeline pipeline, GenerationContext g, string released, ILogger logger)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var verdict = await pipeline.CheckOutputAsync(g, released, deadline.Token);
            await pipeline.RememberReviewAsync(g, verdict, deadline.Token);
            return verdict;
        }
        catch (Exception e)
        {
            logger.LogWarning("Stream {RequestId}: the output check after the client left failed ({Error})", g.RequestId, e.GetType().Name);
            return null;
        }
    }

    // Checks (unless async) and then sends the pending text but its last holdBack chars; returns the verdict when it
    // blocked instead. A window goes to the window check, which opens no review item (a stream cannot wait for a human);
    // the whole text (buffer) does. Holding back the last ModerationWindowChars of a passing window is what keeps a
    // phrase (a card number, a deny-listed phrase) from leaking in halves: a phrase no longer than that whose first
    // char is released lies wholly inside the window just checked, so one check saw all of it.
    private static async Task<SafetyVerdict?> ReleaseAsync(GenerationPipeline pipeline, GenerationContext g, HttpResponse response, long created,
        StringBuilder released, StringBuilder pending, bool checkFirst, int holdBack, ChatOptions options, bool textCompletion, CancellationToken ct, string? wholeText = null)
    {
        if (checkFirst)
        {
            // The window includes the tail of what was already released, so a phrase split across windows is still seen.
            var tail = released.Length > options.ModerationWindowChars ? released.ToString(released.Length - options.ModerationWindowChars, options.ModerationWindowChars) : released.ToString();
            var verdict = wholeText is null
                ? await pipeline.CheckOutputWindowAsync(g, tail + pending, ct)
                : await pipeline.CheckOutputAsync(g, wholeText, ct);
            if (!verdict.IsAllowed)
            {
                return verdict;
            }
        }

        var count = pending.Length - holdBack;
        if (count > 0 && char.IsHighSurrogate(pending[count - 1]))
        {
            count--; // never split a surrogate pair across two deltas
        }

        if (count <= 0)
        {
            return null;
        }

        var text = pending.ToString(0, count);
        pending.Remove(0, count);
        released.Append(text);
        await WriteDeltaAsync(response, g, created, text, null, textCompletion, ct);
        return null;
    }

    // Chat streams send chat.completion.chunk deltas; text completion streams send text_completion objects with "text".
    private static Task WriteDeltaAsync(HttpResponse response, GenerationContext g, long created, string? text, string? finish, bool textCompletion, CancellationToken ct) =>
        textCompletion
            ? WriteAsync(response, new Completions.CompletionChunk(g.RequestId, "text_completion", created, g.Model, [new Completions.CompletionChunkChoice(text ?? "", 0, null, finish)]), ct)
            : WriteAsync(response, Chunk(g, created, text is null ? new ChunkDelta() : new ChunkDelta(Content: text), finish), ct);

    private static ChatCompletionChunk Chunk(GenerationContext g, long created, ChunkDelta delta, string? finish) =>
        new(g.RequestId, "chat.completion.chunk", created, g.Model, [new ChunkChoice(0, delta, finish)]);

    private static async Task WriteAsync<T>(HttpResponse response, T payload, CancellationToken ct)
    {
        await response.Body.WriteAsync("data: "u8.ToArray(), ct);
        await JsonSerializer.SerializeAsync(response.Body, payload, cancellationToken: ct);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), ct);
        await response.Body.FlushAsync(ct);
    }
}
