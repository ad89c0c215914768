namespace DaprLlm.Contracts.Events;

/// <summary>
/// Published by the gateway once it has decided how to serve a request: who asked (tenant, key, end user), which
/// model was asked for and which one answers (a fallback while a breaker is open), the region it goes to and the
/// cache result. Immutable and versioned; <see cref="RequestCompletedV1"/> follows with the outcome.
/// </summary>
public sealed record RequestReceivedV1(
    string RequestId,
    string TenantId,
    string KeyId,
    string? UserId,
    string ModelRequested,
    string ModelRouted,
    string? Region,
    string Cache,
    bool FallbackUsed,
    string ApiVersion,
    DateTimeOffset ReceivedAt,
    string? TraceId = null)
{
    /// <summary>Cache results (also the values of the gateway's cache response header).</summary>
    public static class CacheResults
    {
        public const string Hit = "hit";
        public const string SemanticHit = "semantic-hit";
        public const string Miss = "miss";

        /// <summary>The request was not eligible for caching (sampled without opt-in, streamed, refused first).</summary>
        public const string Bypass = "bypass";
    }
}
