using System.Diagnostics;
using Dapr;
using Dapr.Client;
using DaprLlm.Gateway.Upstream;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Gateway.Chat;

/// <summary>
/// One chat completion through the whole path: input moderation (safety) → generation (inference) → output
/// moderation (safety) → request.completed event (audit). Every hop goes through the Dapr sidecar.
/// </summary>
public sealed class ChatCompletionPipeline(SafetyClient safety, InferenceClient inference, DaprClient dapr, TimeProvider time, ILogger<ChatCompletionPipeline> logger)
{
    /// <summary>The outcome of a request: a response to send, or a refusal.</summary>
    public sealed record Outcome(ChatCompletionResponse? Response, ModerationVerdict? InputRefusal);

    public async Task<Outcome> RunAsync(string requestId, ChatCompletionRequest request, string model, int maxTokens, CancellationToken cancellationToken)
    {
        var prompt = string.Join("\n", request.Messages!.Select(m => m.Content));
        var input = await safety.ModerateInputAsync(new ModerationRequest(requestId, prompt), cancellationToken);
        if (!input.IsAllowed)
        {
            await PublishAsync(new RequestCompletedV1(requestId, model, RequestCompletedV1.Outcomes.RefusedInput, null, 0, 0,
                input.Decision, null, Activity.Current?.TraceId.ToString(), time.GetUtcNow()), cancellationToken);
            return new Outcome(null, input);
        }

        var generation = await inference.GenerateAsync(
            new GenerationRequest(requestId, model, request.Messages!.Select(m => new ChatMessage(m.Role!, m.Content!)).ToList(),
                maxTokens, request.Temperature ?? 1.0, request.Seed),
            cancellationToken);

        var output = await safety.ModerateOutputAsync(new ModerationRequest(requestId, generation.Text), cancellationToken);
        var (content, finishReason, outcome) = output.IsAllowed
            ? (generation.Text, generation.FinishReason, RequestCompletedV1.Outcomes.Completed)
            : ("", "content_filter", RequestCompletedV1.Outcomes.FilteredOutput);

        await PublishAsync(new RequestCompletedV1(requestId, generation.Model, outcome, finishReason, generation.PromptTokens,
            generation.CompletionTokens, input.Decision, output.Decision, Activity.Current?.TraceId.ToString(), time.GetUtcNow()),
            cancellationToken);

        return new Outcome(new ChatCompletionResponse(requestId, "chat.completion", time.GetUtcNow().ToUnixTimeSeconds(), generation.Model,
            [new ChatCompletionChoice(0, new ChatCompletionMessage("assistant", content), finishReason)],
            new ChatCompletionUsage(generation.PromptTokens, generation.CompletionTokens, generation.PromptTokens + generation.CompletionTokens)),
            null);
    }

    // The broker acknowledges the event; the gateway never waits for the audit app itself.
    private async Task PublishAsync(RequestCompletedV1 completed, CancellationToken cancellationToken)
    {
        try
        {
            await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted, completed, cancellationToken);
        }
        catch (DaprException e)
        {
            logger.LogError(e, "Could not publish {Topic} for request {RequestId}", Topics.RequestCompleted, completed.RequestId);
            throw;
        }
    }
}
