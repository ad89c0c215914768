namespace DaprLlm.Contracts.Inference;

/// <summary>
/// One Server-Sent Event of v1/generate/stream: <c>token</c> (Text), then one <c>end</c> (FinishReason and token
/// counts) or one <c>error</c> (Error). Null members are omitted on the wire.
/// </summary>
public sealed record GenerationStreamEvent(
    string Type,
    string? Text = null,
    string? FinishReason = null,
    int? PromptTokens = null,
    int? CompletionTokens = null,
    InferenceErrorDetail? Error = null)
{
    public const string TokenType = "token";
    public const string EndType = "end";
    public const string ErrorType = "error";
}
