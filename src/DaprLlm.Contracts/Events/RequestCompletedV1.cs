namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by the gateway when a request ends. Immutable and versioned: a breaking change is a new record (V2).
/// Carries no prompt or completion text: content goes to the audit trail through its own PII-safe path.
/// </summary>
public sealed record RequestCompletedV1(
    string RequestId,
    string Model,
    string Outcome,
    string? FinishReason,
    int PromptTokens,
    int CompletionTokens,
    string? InputDecision,
    string? OutputDecision,
    string? TraceId,
    DateTimeOffset CompletedAt)
{
    /// <summary>Outcome values.</summary>
    public static class Outcomes
    {
        public const string Completed = "completed";
        public const string RefusedInput = "refused_input";
        public const string FilteredOutput = "filtered_output";
        public const string Failed = "failed";
    }
}
