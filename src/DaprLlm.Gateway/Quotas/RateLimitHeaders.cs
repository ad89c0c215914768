using System.Globalization;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.Quotas;

/// <summary>OpenAI's x-ratelimit-* headers and the 429 answer of a refused admission.</summary>
public static class RateLimitHeaders
{
    /// <summary>
    /// Writes the headers from whichever of the key's and the tenant's allowances is tighter, requests and tokens each
    /// on their own: a client pacing itself by them must see the quota that will refuse it first.
    /// </summary>
    public static void Write(HttpResponse response, QuotaLease key, QuotaLease tenant, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var (keyRequests, keyTokens, keyReset) = key.Remaining(now);
        var (tenantRequests, tenantTokens, tenantReset) = tenant.Remaining(now);
        var (requestLimit, requests, requestReset) = tenantRequests < keyRequests
            ? (tenant.Limits.RequestsPerMinute, tenantRequests, tenantReset) : (key.Limits.RequestsPerMinute, keyRequests, keyReset);
        var (tokenLimit, tokens, tokenReset) = tenantTokens < keyTokens
            ? (tenant.Limits.TokensPerMinute, tenantTokens, tenantReset) : (key.Limits.TokensPerMinute, keyTokens, keyReset);
        var h = response.Headers;
        h["x-ratelimit-limit-requests"] = requestLimit.ToString(CultureInfo.InvariantCulture);
        h["x-ratelimit-limit-tokens"] = tokenLimit.ToString(CultureInfo.InvariantCulture);
        h["x-ratelimit-remaining-requests"] = Math.Max(0, requests).ToString(CultureInfo.InvariantCulture);
        h["x-ratelimit-remaining-tokens"] = Math.Max(0, tokens).ToString(CultureInfo.InvariantCulture);
        h["x-ratelimit-reset-requests"] = Format(requestReset);
        h["x-ratelimit-reset-tokens"] = Format(tokenReset);
    }

    public static IResult Refusal(HttpResponse response, LeaseGrant refusal)
    {
        var daily = refusal.RefusalCode == "insufficient_quota";
        var wait = TimeSpan.FromMilliseconds(daily ? refusal.DayResetMs : refusal.MinuteResetMs);
        response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return daily
            ? OpenAiError.Result(StatusCodes.Status429TooManyRequests, "insufficient_quota", "insufficient_quota",
                "You exceeded your daily token quota. It resets at midnight UTC.")
            : OpenAiError.Result(StatusCodes.Status429TooManyRequests, "requests", "rate_limit_exceeded",
                $"Rate limit reached (requests, tokens or concurrent requests per minute). Retry after {Format(wait)}.");
    }

    // OpenAI writes durations like "1s", "6m0s", "120ms".
    private static string Format(TimeSpan span) => span.TotalSeconds < 1
        ? $"{Math.Max(0, (int)span.TotalMilliseconds)}ms"
        : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m{span.Seconds}s" : $"{(int)Math.Ceiling(span.TotalSeconds)}s";
}
