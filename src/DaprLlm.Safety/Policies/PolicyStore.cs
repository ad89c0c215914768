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
/// with the model. A tenant's record keeps what its updates set (the overrides); the policy in force is the shipped
/// default with the overrides on top, computed when read, so a retrained model's new defaults reach every category a
/// tenant never set. Each update bumps the revision under an ETag, so two admins cannot silently overwrite each
/// other; the version names both the revision and the default's version, so either change invalidates cached verdicts.
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
        var policy = stored is null ? engine.DefaultPolicy : Effective(stored);
        _cache[tenant] = (policy, now.AddSeconds(options.Value.PolicyRefreshSeconds));
        return policy;
    }

    /// <summary>The stored policy document, or null when the tenant uses the default.</summary>
    public Task<StoredPolicy?> GetStoredAsync(string tenant, CancellationToken cancellationToken) =>
        dapr.GetStateAsync<StoredPolicy?>(DaprComponents.StateStore, Key(tenant), cancellationToken: cancellationToken);

    /// <summary>Merges <paramref name="update"/> over what the tenant set before (nothing for a new one) and stores it as the next revision; null on a concurrent update.</summary>
    public async Task<StoredPolicy?> UpdateAsync(string tenant, PolicyUpdate update, CancellationToken cancellationToken, int? expectedRevision = null)
    {
        var (current, etag) = await dapr.GetStateAndETagAsync<StoredPolicy?>(DaprComponents.StateStore, Key(tenant), cancellationToken: cancellationToken);
        // If-Match: the admin edited the revision they read; another admin's change since then is not overwritten.
        if (expectedRevision is { } expected && expected != (current?.Revision ?? 0))
        {
            return null;
        }

        var revision = (current?.Revision ?? 0) + 1;
        // Over what the tenant set before: an update that sets one thing leaves the tenant's other settings as they are.
        var overrides = Combine(current is null ? new PolicyUpdate() : OverridesOf(current), update);
        var stored = new StoredPolicy(tenant, revision, Apply(tenant, revision, overrides), time.GetUtcNow(), overrides);
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

    /// <summary>The policy in force for a stored record: the shipped default with the tenant's overrides on top.</summary>
    public SafetyPolicy Effective(StoredPolicy stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        // A record written before overrides were kept: its full policy stays in force, exactly as it did.
        return stored.Overrides is { } overrides ? Apply(stored.Tenant, stored.Revision, overrides) : stored.Policy;
    }

    /// <summary>The shipped default with <paramref name="overrides"/> on top, as revision <paramref name="revision"/>; validated by the caller before storing.</summary>
    public SafetyPolicy Apply(string tenant, int revision, PolicyUpdate overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var defaults = engine.DefaultPolicy;
        var categories = new Dictionary<string, CategoryThresholds>(defaults.Categories, StringComparer.Ordinal);
        foreach (var (category, thresholds) in overrides.Categories ?? new Dictionary<string, CategoryThresholds>())
        {
            categories[category] = thresholds;
        }

        // "-r": the shipped policy is "default-v<model version>", so "-v" revisions of tenant "default" could repeat it
        // (and keep its cached verdicts after a change). "+<default's version>": a retrained model's defaults change
        // this policy without a new revision, and cached verdicts (VerdictCache, the gateway's caches) must not outlive that.
        return new SafetyPolicy(
            $"{tenant}-r{revision}+{defaults.Version}",
            categories,
            overrides.PiiAction ?? defaults.PiiAction,
            overrides.DenyTerms ?? defaults.DenyTerms,
            overrides.AllowTerms ?? defaults.AllowTerms,
            overrides.Patterns ?? defaults.Patterns);
    }

    /// <summary><paramref name="later"/> over <paramref name="earlier"/>: thresholds per category, everything else where given.</summary>
    public static PolicyUpdate Combine(PolicyUpdate earlier, PolicyUpdate later)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(later);
        Dictionary<string, CategoryThresholds>? categories = null;
        if (earlier.Categories is not null || later.Categories is not null)
        {
            categories = new Dictionary<string, CategoryThresholds>(StringComparer.Ordinal);
            foreach (var (category, thresholds) in (earlier.Categories ?? new Dictionary<string, CategoryThresholds>()).Concat(later.Categories ?? new Dictionary<string, CategoryThresholds>()))
            {
                categories[category] = thresholds;
            }
        }

        return new PolicyUpdate(
            categories,
            later.PiiAction ?? earlier.PiiAction,
            later.DenyTerms ?? earlier.DenyTerms,
            later.AllowTerms ?? earlier.AllowTerms,
            later.Patterns ?? earlier.Patterns);
    }

    // A record written before overrides were kept holds only the full policy, the shipped thresholds of its time copied
    // in. What differs from today's default may be the tenant's (or an older default's; they cannot be told apart), so it
    // stays set; what equals today's default is left to follow the default. The policy in force does not change.
    private PolicyUpdate OverridesOf(StoredPolicy stored)
    {
        if (stored.Overrides is { } overrides)
        {
            return overrides;
        }

        var defaults = engine.DefaultPolicy;
        var policy = stored.Policy;
        var categories = policy.Categories
            .Where(c => !defaults.Categories.TryGetValue(c.Key, out var shipped) || shipped != c.Value)
            .ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        return new PolicyUpdate(
            categories,
            policy.PiiAction == defaults.PiiAction ? null : policy.PiiAction,
            SameList(policy.DenyTerms, defaults.DenyTerms) ? null : policy.DenyTerms ?? [],
            SameList(policy.AllowTerms, defaults.AllowTerms) ? null : policy.AllowTerms ?? [],
            SameMap(policy.Patterns, defaults.Patterns) ? null : policy.Patterns ?? new Dictionary<string, string>());
    }

    private static bool SameList(IReadOnlyList<string>? a, IReadOnlyList<string>? b) => (a ?? []).SequenceEqual(b ?? [], StringComparer.Ordinal);

    private static bool SameMap(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? new Dictionary<string, string>()).All(p => b is not null && b.TryGetValue(p.Key, out var v) && v == p.Value);
}
