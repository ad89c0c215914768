using System.Collections.Concurrent;
using Dapr;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Moderation;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// Tenant policies in the Dapr state store (key <c>safety-policy:{tenant}</c>), falling back to the policy shipped
/// with the model. Each update bumps the revision under an ETag, so two admins cannot silently overwrite each
/// other, and names a new version, which invalidates cached verdicts.
/// </summary>
public sealed class PolicyStore(DaprClient dapr, SafetyEngine engine, IOptions<ModerationOptions> options, TimeProvider time)
{
    public const string DefaultTenant = "default";

    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };

    private readonly ConcurrentDictionary<string, (SafetyPolicy Policy, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public static string Key(string tenant) => $"safety-policy:{tenant}";

    /// <summary>The policy in force for <paramref name="tenant"/>, read through a short in-memory cache.</summary>
    public async Task<SafetyPolicy> GetAsync(string tenant, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(tenant, out var cached) && cached.Expires > now)
        {
            return cached.Policy;
        }

        var stored = await dapr.GetStateAsync<StoredPolicy?>(DaprComponents.StateStore, Key(tenant), cancellationToken: cancellationToken);
        var policy = stored?.Policy ?? engine.DefaultPolicy;
        _cache[tenant] = (policy, now.AddSeconds(options.Value.PolicyRefreshSeconds));
        return policy;
    }

    /// <summary>The stored policy document, or null when the tenant uses the default.</summary>
    public Task<StoredPolicy?> GetStoredAsync(string tenant, CancellationToken cancellationToken) =>
        dapr.GetStateAsync<StoredPolicy?>(DaprComponents.StateStore, Key(tenant), cancellationToken: cancellationToken);

    /// <summary>Merges <paramref name="update"/> over the tenant's policy (the default for a new one) and stores it as the next revision; null on a concurrent update.</summary>
    public async Task<StoredPolicy?> UpdateAsync(string tenant, PolicyUpdate update, CancellationToken cancellationToken, int? expectedRevision = null)
    {
        var (current, etag) = await dapr.GetStateAndETagAsync<StoredPolicy?>(DaprComponents.StateStore, Key(tenant), cancellationToken: cancellationToken);
        // If-Match: the admin edited the revision they read; another admin's change since then is not overwritten.
        if (expectedRevision is { } expected && expected != (current?.Revision ?? 0))
        {
            return null;
        }

        var revision = (current?.Revision ?? 0) + 1;
        // Over the tenant's current policy: an update that sets one thing leaves the tenant's other settings as they are.
        var stored = new StoredPolicy(tenant, revision, Merge(tenant, revision, update, current?.Policy), time.GetUtcNow());
        // First revision: first-write concurrency with no ETag writes only if the key is still absent, so two admins
        // creating a tenant's policy at once cannot both succeed (the loser gets a conflict, as on later revisions).
        var saved = string.IsNullOrEmpty(etag)
            ? await dapr.TrySaveStateAsync(DaprComponents.StateStore, Key(tenant), stored, "", FirstWrite, cancellationToken: cancellationToken)
            : await dapr.TrySaveStateAsync(DaprComponents.StateStore, Key(tenant), stored, etag, cancellationToken: cancellationToken);
        if (!saved)
        {
            return null;
        }

        _cache.TryRemove(tenant, out _);
        return stored;
    }

    /// <summary>The policy an update would produce over <paramref name="basis"/> (default: the shipped policy); validated by the caller before storing.</summary>
    public SafetyPolicy Merge(string tenant, int revision, PolicyUpdate update, SafetyPolicy? basis = null)
    {
        ArgumentNullException.ThrowIfNull(update);
        var start = basis ?? engine.DefaultPolicy;
        // Default thresholds first, so a category the model gained since the tenant's policy was stored has one.
        var categories = new Dictionary<string, CategoryThresholds>(engine.DefaultPolicy.Categories, StringComparer.Ordinal);
        foreach (var (category, thresholds) in start.Categories.Concat(update.Categories ?? new Dictionary<string, CategoryThresholds>()))
        {
            categories[category] = thresholds;
        }

        // "-r": the shipped policy is "default-v<model version>", so "-v" revisions of tenant "default" could repeat it
        // (and keep its cached verdicts after a change).
        return new SafetyPolicy(
            $"{tenant}-r{revision}",
            categories,
            update.PiiAction ?? start.PiiAction,
            update.DenyTerms ?? start.DenyTerms,
            update.AllowTerms ?? start.AllowTerms,
            update.Patterns ?? start.Patterns);
    }
}
