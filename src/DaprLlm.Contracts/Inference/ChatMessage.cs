namespace DaprLlm.Contracts.Inference;

/// <summary>One chat message (OpenAI roles: system, user, assistant).</summary>
public sealed record ChatMessage(string Role, string Content);
