namespace DaprLlm.Contracts.Safety;

/// <summary>Text to moderate, with the request it belongs to.</summary>
/// <param name="RequestId">The gateway's request id.</param>
/// <param name="Text">The text to check.</param>
/// <param name="TenantId">Whose policy applies; the default policy when null.</param>
/// <param name="Region">The request's data region, copied into the moderation.decided event.</param>
public sealed record ModerationRequest(string RequestId, string Text, string? TenantId = null, string? Region = null);
