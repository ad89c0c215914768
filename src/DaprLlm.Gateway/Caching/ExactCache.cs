using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DaprLlm.Contracts.Inference;
using DaprLlm.Gateway.Chat;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Caching;

/// <summary>
/// Exact cache of whole answers. The key hashes the tenant, the safety policy version, the model and the normalized
/// request, so tenants never share entries and a new policy version never serves text checked under the old one.
/// Only deterministic requests (temperature 0 or a seed) or an explicit opt-in are cached, and only answers the
/// output check allowed are stored. Entries remember the tenant and the end user (OpenAI "user") that produced
/// them so a GDPR erasure can drop them (<see cref="PurgeUser"/>).
/// </summary>
public sealed class ExactCache(IOptions<CacheOptions> options) : IDisposable
{
    public const string Header = "x-daprllm-cache";

    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = options.Value.MaxEntries });

    // (tenant, user) -> keys of the entries that user's requests stored; evictions remove themselves.
    private readonly Dictionary<(string Tenant, string User), HashSet<string>> _byUser = new();

    /// <summary>A cached answer.</summary>
    public sealed record Entry(GenerationResult Result, string Region, string? TenantId = null, string? UserId = null);

    public static bool IsCacheable(GenerationContext g, bool optIn) => optIn || g.Temperature == 0 || g.Seed is not null;

    public string Key(GenerationContext g, string policyVersion)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStringValue(g.Caller.TenantId);
            w.WriteStringValue(policyVersion);
            w.WriteStringValue(g.Model);
            w.WriteNumberValue(g.MaxTokens);
            w.WriteNumberValue(g.Temperature);
            w.WriteNumberValue(g.TopP ?? 1);
            w.WriteNumberValue(g.Seed ?? -1);
            // Each list in its own array: flat, a stop string could pass for a message (and the other way round).
            w.WriteStartArray();
            foreach (var m in g.Messages)
            {
                // Normalized: roles as given, content trimmed with line endings unified.
                w.WriteStringValue(m.Role);
                w.WriteStringValue(m.Content.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
            }

            w.WriteEndArray();
            w.WriteStartArray();
            foreach (var s in g.Stop ?? [])
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();

            // Penalties and bias change the answer, so they are part of the key (in a fixed order).
            w.WriteNumberValue(g.Controls.PresencePenalty ?? 0);
            w.WriteNumberValue(g.Controls.FrequencyPenalty ?? 0);
            foreach (var (token, bias) in (g.Controls.LogitBias ?? new Dictionary<string, double>()).OrderBy(b => b.Key, StringComparer.Ordinal))
            {
                w.WriteStringValue(token);
                w.WriteNumberValue(bias);
            }

            w.WriteEndArray();
        }

        return Convert.ToHexString(SHA256.HashData(buffer.ToArray()));
    }

    public bool Enabled => options.Value.Enabled;

    public Entry? Get(string key) => _entries.TryGetValue(key, out Entry? entry) ? entry : null;

    public void Put(string key, Entry entry)
    {
        var entryOptions = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = options.Value.TimeToLive };
        if (entry is { TenantId: { } tenant, UserId: { } user })
        {
            lock (_byUser)
            {
                if (!_byUser.TryGetValue((tenant, user), out var keys))
                {
                    _byUser[(tenant, user)] = keys = [];
                }

                keys.Add(key);
            }

            // A replaced entry keeps its key indexed (the new value indexed it again); over-purging is the safe side.
            entryOptions.RegisterPostEvictionCallback(static (k, value, reason, state) =>
            {
                if (reason != EvictionReason.Replaced)
                {
                    ((ExactCache)state!).Unindex((string)k, (Entry)value!);
                }
            }, this);
        }

        _entries.Set(key, entry, entryOptions);
    }

    /// <summary>Drops every entry stored by this end user of this tenant (GDPR erasure); returns how many.</summary>
    public int PurgeUser(string tenantId, string userId)
    {
        string[] keys;
        lock (_byUser)
        {
            if (!_byUser.Remove((tenantId, userId), out var set))
            {
                return 0;
            }

            keys = [.. set];
        }

        foreach (var key in keys)
        {
            _entries.Remove(key);
        }

        return keys.Length;
    }

    private void Unindex(string key, Entry entry)
    {
        lock (_byUser)
        {
            if (_byUser.TryGetValue((entry.TenantId!, entry.UserId!), out var keys) && keys.Remove(key) && keys.Count == 0)
            {
                _byUser.Remove((entry.TenantId!, entry.UserId!));
            }
        }
    }

    public void Dispose() => _entries.Dispose();
}
