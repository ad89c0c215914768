using DaprLlm.Contracts.Inference;

namespace DaprLlm.Contracts.Safety;

/// <summary>Text to moderate, with the request it belongs to.</summary>
/// <param name="RequestId">The gateway's request id.</param>
/// <param name="Text">The text to check.</param>
/// <param name="TenantId">Whose policy applies; the default policy when null.</param>
/// <param name="Region">The request's data region, copied into the moderation.decided event.</param>
/// <param name="Messages">The conversation the text belongs to (the request's chat messages). Not scored: a reviewer sees it
/// beside the text when the text goes to human review, so an output item shows the prompt that produced it.</param>
public sealed record ModerationRequest(
    string RequestId, string Text, string? TenantId = null, string? Region = null, IReadOnlyList<ChatMessage>? Messages = null);

/// <summary>Limits of a moderation request that both its sender (the gateway) and the safety app enforce.</summary>
public static class ModerationLimits
{
    /// <summary>The most chat messages a moderated conversation may hold.</summary>
    public const int MaxConversationMessages = 256;
}
