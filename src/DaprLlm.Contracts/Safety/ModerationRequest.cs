namespace DaprLlm.Contracts.Safety;

/// <summary>Text to moderate, with the request it belongs to.</summary>
public sealed record ModerationRequest(string RequestId, string Text);
