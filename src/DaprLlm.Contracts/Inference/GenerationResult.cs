namespace DaprLlm.Contracts.Inference;

/// <summary>Generated text with exact token counts and why generation stopped (stop, length, cancelled).</summary>
public sealed record GenerationResult(string Model, string Text, int PromptTokens, int CompletionTokens, string FinishReason);
