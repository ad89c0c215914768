using DaprLlm.Contracts.Inference;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Caching;

/// <summary>
/// Semantic cache: a prompt whose embedding (inference embeddings through Dapr, in the tenant's own regions) is
/// close enough to a cached one gets the cached answer. Only the last message is embedded; every earlier message is part
/// of the partition exactly (with tenant, model, max tokens and sampling settings), so two conversations that differ in
/// one word of their last turn after a long shared history are never taken for each other. An entry
/// remembers the safety policy version it was checked under and is re-checked by the safety app before it is
/// served under a newer one (dropped if the new policy objects). Only answers the output check allowed are stored.
/// The cache is an optimisation: an embedding failure is a miss, never a failed request.
/// </summary>
public sealed partial class SemanticCache(InferenceClient inference, InferenceRouter router, SafetyClient safety, IOptions<SemanticCacheOptions> options,
    TimeProvider time, ILogger<SemanticCache> logger)
{
    private readonly SemanticIndex<Entry> _index = new(options.Value.MaxEntriesPerPartition, options.Value.MaxEntries, options.Value.Candidates);

    public bool Enabled => options.Value.Enabled;

    public int Count => _index.Count;

    /// <summary>A cached answer; <see cref="PolicyVersion"/> moves forward when a re-check under a newer policy passes.</summary>
    public sealed class Entry(GenerationResult result, string region, string tenantId, string? userId, string policyVersion, int embeddedTokens)
    {
        public GenerationResult Result { get; } = result;

        /// <summary>The last message's tokens as the embedding model counted them (the rest of the prompt is the partition's).</summary>
        public int EmbeddedTokens { get; } = embeddedTokens;

        public string Region { get; } = region;

        public string TenantId { get; } = tenantId;

        public string? UserId { get; } = userId;

        public string PolicyVersion { get; set; } = policyVersion;
    }

    /// <summary>The lookup's result: the prompt's vector (kept to store the answer on a miss) and the hit, if any.</summary>
    public sealed record Probe(float[]? Vector, int PromptTokens, Entry? Hit);

    public static readonly Probe None = new(null, 0, null);

    public async Task<Probe> LookupAsync(GenerationContext g, string policyVersion, CancellationToken ct)
    {
        // Only the last turn is compared by meaning; everything before it must match exactly (the partition).
        var prompt = g.Messages[^1].Content;
        // A similar prompt's answer was sampled without this request's bias or penalties: only the exact cache applies.
        if (!Enabled || prompt.Length > options.Value.MaxPromptChars || !g.Controls.IsNone)
        {
            return None;
        }

        EmbeddingsAnswer? answer = null;
        foreach (var (_, appId) in router.Candidates(g.Caller.Tenant))
        {
            try
            {
                answer = await inference.EmbedAsync(appId, new EmbeddingsCall(options.Value.EmbeddingModel, [prompt]), ct);
                break;
            }
            catch (UpstreamException e) when (e.StatusCode == 400)
            {
                // Longer than the embedding model reads (dense text under MaxPromptChars): only its beginning could be
                // compared, so no cache; another region's model would say the same.
                return None;
            }
            catch (UpstreamException e)
            {
                LogEmbeddingFailed(logger, appId, e.StatusCode ?? 0);
            }
        }

        if (answer is not { Data: [var vector, ..] })
        {
            return None;
        }

        var partition = Partition(g);
        while (_index.Search(partition, vector, (float)options.Value.Threshold, time.GetUtcNow()) is { } match)
        {
            if (match.Value.PolicyVersion == policyVersion || await StillAllowedAsync(g, match.Value, policyVersion, ct))
            {
                // This request's prompt: the cached one's (the same earlier messages) with its own last message's count.
                var promptTokens = Math.Max(1, match.Value.Result.PromptTokens - match.Value.EmbeddedTokens + answer.PromptTokens);
                return new Probe(vector, promptTokens, match.Value);
            }

            // The new policy objects to the cached text: it is never served again; look for the next closest.
            _index.Remove(match);
        }

        return new Probe(vector, answer.PromptTokens, null);
    }

    public void Put(GenerationContext g, Probe probe, GenerationResult result, string region, string policyVersion)
    {
        if (probe.Vector is { } vector)
        {
            var now = time.GetUtcNow();
            _index.Add(Partition(g), vector, new Entry(result, region, g.Caller.TenantId, g.User, policyVersion, probe.PromptTokens), now + options.Value.TimeToLive, now);
        }
    }

    /// <summary>Drops every entry stored by this end user of this tenant (GDPR erasure); returns how many.</summary>
    public int PurgeUser(string tenantId, string userId) =>
        _index.RemoveWhere(e => e.TenantId == tenantId && e.UserId == userId);

    private async Task<bool> StillAllowedAsync(GenerationContext g, Entry entry, string policyVersion, CancellationToken ct)
    {
        // The tenant's own policy decides (its version is what changed), and a review item shows this request's prompt.
        var verdict = await safety.ModerateOutputAsync(
            new DaprLlm.Contracts.Safety.ModerationRequest(g.RequestId, entry.Result.Text, g.Caller.TenantId, g.Caller.Tenant.HomeRegion, g.Messages), ct);
        if (verdict.IsAllowed)
        {
            entry.PolicyVersion = policyVersion;
            return true;
        }

        return false;
    }

    // Tenants never share a partition; the model, max tokens and sampling settings (temperature, top_p, seed, stop)
    // must match for an answer to fit the request (a seeded client asking again with another seed wants another
    // sample), and so must every message before the last one, role and text, exactly: the vector is the last message's
    // only, so an earlier system instruction or turn that differs is another conversation, however alike the last turn.
    private static string Partition(GenerationContext g)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        return string.Join('\n', g.Caller.TenantId, g.Model, g.MaxTokens.ToString(invariant), g.Temperature.ToString("R", invariant),
            (g.TopP ?? 1).ToString("R", invariant), g.Seed?.ToString(invariant) ?? "-", Digest(EarlierMessages(g.Messages)),
            Digest(g.Stop ?? []));
    }

    // Role and text of every message before the last, then the last one's role (its text is the vector's).
    private static IEnumerable<string> EarlierMessages(IReadOnlyList<DaprLlm.Contracts.Inference.ChatMessage> messages)
    {
        for (var i = 0; i < messages.Count - 1; i++)
        {
            yield return messages[i].Role;
            yield return messages[i].Content;
        }

        yield return messages[^1].Role;
    }

    private static string Digest(IEnumerable<string> texts)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var any = false;
        foreach (var text in texts)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
            sha.AppendData([0]);
            any = true;
        }

        return any ? Convert.ToHexString(sha.GetHashAndReset(), 0, 16) : "";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Semantic cache: embedding on {AppId} failed ({Status}); treated as a miss")]
    private static partial void LogEmbeddingFailed(ILogger logger, string appId, int status);
}
