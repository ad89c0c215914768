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
/// output check allowed are stored.
/// </summary>
public sealed class ExactCache(IOptions<CacheOptions> options) : IDisposable
{
    public const string Header = "x-daprllm-cache";

    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = options.Value.MaxEntries });

    /// <summary>A cached answer.</summary>
    public sealed record Entry(GenerationResult Result, string Region);

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
            foreach (var m in g.Messages)
            {
                // Normalized: roles as given, content trimmed with line endings unified.
                w.WriteStringValue(m.Role);
                w.WriteStringValue(m.Content.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
            }

            foreach (var s in g.Stop ?? [])
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
        }

        return Convert.ToHexString(SHA256.HashData(buffer.ToArray()));
    }

    public bool Enabled => options.Value.Enabled;

    public Entry? Get(string key) => _entries.TryGetValue(key, out Entry? entry) ? entry : null;

    public void Put(string key, Entry entry) =>
        _entries.Set(key, entry, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = options.Value.TimeToLive });

    public void Dispose() => _entries.Dispose();
}
