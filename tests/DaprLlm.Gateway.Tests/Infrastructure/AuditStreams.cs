using System.Text.Json;
using StackExchange.Redis;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>Reads the events the gateway published, straight from the Redis streams the sidecar wrote (one per topic).</summary>
public static class AuditStreams
{
    /// <summary>Waits for the event on <paramref name="topic"/> whose data contains <paramref name="marker"/>; returns its data.</summary>
    public static async Task<JsonElement> WaitForAsync(RedisServer redis, string topic, string marker, Func<JsonElement, bool>? match = null)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var db = connection.GetDatabase();
        JsonElement found = default;
        await Deadline.WaitUntilAsync(async () =>
        {
            foreach (var entry in await db.StreamRangeAsync(topic))
            {
                var raw = entry.Values.FirstOrDefault(v => v.Name == "data").Value.ToString();
                if (!raw.Contains(marker, StringComparison.Ordinal))
                {
                    continue;
                }

                using var doc = JsonDocument.Parse(raw);
                var data = doc.RootElement.TryGetProperty("data", out var inner) ? inner.Clone() : doc.RootElement.Clone();
                if (match is null || match(data))
                {
                    found = data;
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(20), $"an event on {topic} containing {marker}");
        return found;
    }

    /// <summary>The whole CloudEvent envelope (id, source, topic, ...) of the event on <paramref name="topic"/> whose data contains <paramref name="marker"/>.</summary>
    public static async Task<JsonElement> EnvelopeAsync(RedisServer redis, string topic, string marker)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        foreach (var entry in await connection.GetDatabase().StreamRangeAsync(topic))
        {
            var raw = entry.Values.FirstOrDefault(v => v.Name == "data").Value.ToString();
            if (raw.Contains(marker, StringComparison.Ordinal))
            {
                using var doc = JsonDocument.Parse(raw);
                return doc.RootElement.Clone();
            }
        }

        throw new InvalidOperationException($"no event on {topic} contains {marker}");
    }
}
