namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by the gateway when a request ends. Immutable and versioned: a breaking change is a new record (V2).
/// Prompt and completion text, when present, are raw: the audit app masks PII before anything is stored.
/// Cache is a <see cref="RequestReceivedV1.CacheResults"/> value, Route the inference app id that answered, FallbackModel
/// the model used instead of the asked one (breaker open), CachedTokens the prompt tokens served from cache, ErrorCode
/// the OpenAI error code a refused request was answered with.
/// Tenant, region and end-user id let audit route the record to the tenant's regional store and pseudonymize the user.
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
    DateTimeOffset CompletedAt,
    string? TenantId = null,
    string? Region = null,
    string? KeyId = null,
    string? UserId = null,
    string? Prompt = null,
    string? Completion = null,
    string? Cache = null,
    string? Route = null,
    string? FallbackModel = null,
    int? CachedTokens = null,
    string? ErrorCode = null)
{
    /// <summary>Outcome values.</summary>
    public static class Outcomes
    {
        public const string Completed = "completed";
        public const string RefusedInput = "refused_input";
        public const string FilteredOutput = "filtered_output";
        public const string Failed = "failed";

        /// <summary>Refused at admission by a rate limit or quota (ErrorCode rate_limit_exceeded or insufficient_quota).</summary>
        public const string RefusedQuota = "refused_quota";

        /// <summary>Shed at admission because the gateway was at capacity (ErrorCode server_overloaded).</summary>
        public const string Shed = "shed";
    }
}
