using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DaprLlm.Audit.Retention;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Privacy;

/// <summary>The outcome of an erasure: whether a key was destroyed and the record of the erasure in the chain.</summary>
public sealed record ErasureResult(string TenantId, string Subject, string Region, bool KeyDestroyed, string ErasureEventId, long ErasedAtMs, IReadOnlyList<string> RequestIds);

/// <summary>
/// GDPR operations on one data subject in one region: access export (every record, hot and archived, with its sealed
/// text and original opened while the subject's key exists, plus a manifest of record hashes) and erasure (crypto-shredding: the key is
/// destroyed, so every sealed copy anywhere becomes unreadable, while the chain itself is untouched and verifies).
/// </summary>
public sealed class SubjectService(AuditRuntime runtime, RetentionJob retention)
{
    public const string ErasureEventType = "audit.subject.erased";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<JsonObject> ExportAsync(ChainWriter writer, string tenantId, string userId, CancellationToken cancellationToken)
    {
        var store = writer.Store;
        var subject = runtime.Pseudonymizer.Pseudonymize(tenantId, userId);
        var key = await store.GetSubjectKeyAsync(tenantId, subject, cancellationToken);
        var records = new List<AuditRecord>();
        await foreach (var record in ArchivedRecordsAsync(store, tenantId, subject, cancellationToken))
        {
            records.Add(record);
        }

        records.AddRange(await store.ReadBySubjectAsync(tenantId, subject, cancellationToken));
        var items = new JsonArray();
        foreach (var record in records)
        {
            var original = record.Entry.Sealed is { } sealedText ? SubjectSealer.TryOpen(key, record.Entry.EventId, sealedText) : null;
            var content = SealedContent.Open(record.Entry, key);

            items.Add(new JsonObject
            {
                ["seq"] = record.Seq,
                ["eventId"] = record.Entry.EventId,
                ["eventType"] = record.Entry.EventType,
                ["recordedAt"] = DateTimeOffset.FromUnixTimeMilliseconds(record.RecordedAtMs),
                ["content"] = JsonNode.Parse(content.Json),
                ["contentState"] = content.State,
                ["original"] = original is null ? null : JsonNode.Parse(original),
                ["originalState"] = record.Entry.Sealed is null ? "not_kept" : original is null ? ContentStates.Erased : ContentStates.Readable,
                ["hash"] = record.Hash,
                ["prevHash"] = record.PrevHash,
            });
        }

        var body = new JsonObject
        {
            ["tenantId"] = tenantId,
            ["subject"] = subject,
            ["region"] = store.Region,
            ["exportedAt"] = runtime.Time.GetUtcNow(),
            ["records"] = items,
        };
        // The manifest lets the receiver check each record against the chain (verify) and the export as a whole. The
        // digest covers the canonical form (sorted keys, minimal escaping), which a receiver can rebuild from the JSON
        // text it got; a plain re-serialization cannot (System.Text.Json escapes '+' in strings, not in dates).
        var exportSha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalJson.Canonicalize(body.ToJsonString(Json)))));
        body["manifest"] = new JsonObject
        {
            ["count"] = records.Count,
            ["hashes"] = new JsonArray(records.Select(r => (JsonNode?)JsonValue.Create(r.Hash)).ToArray()),
            ["recordsSha256"] = exportSha,
        };
        return body;
    }

    /// <summary>Whether the region holds anything of the subject: its key, or a record hot or archived.</summary>
    public async Task<bool> IsKnownAsync(IAuditStore store, string tenantId, string userId, CancellationToken cancellationToken)
    {
        var subject = runtime.Pseudonymizer.Pseudonymize(tenantId, userId);
        if (await store.GetSubjectKeyAsync(tenantId, subject, cancellationToken) is not null
            || (await store.ReadBySubjectAsync(tenantId, subject, cancellationToken)).Count > 0)
        {
            return true;
        }

        await foreach (var _ in ArchivedRecordsAsync(store, tenantId, subject, cancellationToken))
        {
            return true;
        }

        return false;
    }

    public async Task<ErasureResult> EraseAsync(ChainWriter writer, string tenantId, string userId, string requestedBy, CancellationToken cancellationToken)
    {
        var store = writer.Store;
        var subject = runtime.Pseudonymizer.Pseudonymize(tenantId, userId);
        var requestIds = await RequestIdsAsync(store, tenantId, subject, cancellationToken);
        var now = runtime.Time.GetUtcNow();
        var destroyed = await store.DeleteSubjectKeyAsync(tenantId, subject, now.ToUnixTimeMilliseconds(), cancellationToken);
        var eventId = $"erasure-{tenantId}-{subject}-{now.ToUnixTimeMilliseconds()}";
        var content = CanonicalJson.Canonicalize(JsonSerializer.Serialize(new { tenantId, subject, keyDestroyed = destroyed, requestedBy }, Json));
        // The erasure is itself a record of the chain: who erased whom and when, without the user id in clear.
        await writer.AppendAsync(new AuditEntry(eventId, ErasureEventType, "audit", tenantId, store.Region, subject, now.ToUnixTimeMilliseconds(), content, null), cancellationToken);
        return new ErasureResult(tenantId, subject, store.Region, destroyed, eventId, now.ToUnixTimeMilliseconds(), requestIds);
    }

    /// <summary>The request ids of the subject's records, hot and archived (other apps key their copies by request).</summary>
    private async Task<IReadOnlyList<string>> RequestIdsAsync(IAuditStore store, string tenantId, string subject, CancellationToken cancellationToken)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var record in ArchivedRecordsAsync(store, tenantId, subject, cancellationToken))
        {
            if (record.Entry.RefId is { } refId)
            {
                ids.Add(refId);
            }
        }

        foreach (var record in await store.ReadBySubjectAsync(tenantId, subject, cancellationToken))
        {
            if (record.Entry.RefId is { } refId && record.Entry.EventType != ErasureEventType)
            {
                ids.Add(refId);
            }
        }

        return [.. ids];
    }

    /// <summary>The subject's records in the region's archive segments that are not yet deleted, oldest first.</summary>
    private async IAsyncEnumerable<AuditRecord> ArchivedRecordsAsync(IAuditStore store, string tenantId, string subject,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var archive = retention.ArchiveFor(store.Region);
        foreach (var segment in await store.ReadSegmentsAsync(cancellationToken))
        {
            if (segment.DeletedAtMs is not null)
            {
                continue;
            }

            await foreach (var record in archive.ReadAsync(segment, cancellationToken))
            {
                if (record.Entry.TenantId == tenantId && record.Entry.Subject == subject)
                {
                    yield return record;
                }
            }
        }
    }
}
