using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Ingestion;

/// <summary>The entry to store for an event and the region whose store must hold it; or why it cannot be stored.</summary>
public sealed record EntryDecision(string Region, AuditEntry? Entry, string? Error);

/// <summary>
/// Turns an event into what the trail stores: routed to its tenant's region, PII masked, user id pseudonymized, the
/// masked free text sealed with the data subject's key when there is one and, when the tenant keeps originals, the
/// original payload sealed with that key too.
/// </summary>
public sealed class AuditEntryFactory(AuditOptions options, ContentMasker masker, Pseudonymizer pseudonymizer)
{
    public const string UnknownTenant = "unknown";

    public async Task<EntryDecision> BuildAsync(CloudEventEnvelope envelope, Func<string, IAuditStore?> storeFor, CancellationToken cancellationToken)
    {
        var data = envelope.Data;
        var tenant = Field(data, "tenantId") is { } named ? ColumnText.Clean(named) : UnknownTenant;
        var policy = options.PolicyFor(tenant);
        // Residency: the tenant's configured region wins over whatever the event claims.
        var region = policy.Region ?? Field(data, "region") ?? options.DefaultRegion;
        if (storeFor(region) is not { } store)
        {
            return new EntryDecision(region, null, $"region '{region}' has no store here");
        }

        var userId = ContentMasker.UserIdFields.Select(f => Field(data, f)).FirstOrDefault(v => !string.IsNullOrEmpty(v));
        var subject = userId is null ? null : pseudonymizer.Pseudonymize(tenant, userId);
        string content;
        string? sealedOriginal = null;
        if (subject is null)
        {
            // Nobody to erase: the masked text stays in the clear.
            content = masker.Mask(data, null);
        }
        else
        {
            // A subject's free text is stored only sealed with their key, so erasure (key destruction) reaches it everywhere.
            // An event from before the subject's erasure that arrives after it is sealed with a key nobody keeps: it is
            // recorded (the chain stays complete) but born erased, and no original is kept.
            var occurredMs = envelope.Time?.ToUnixTimeMilliseconds() ?? long.MinValue;
            bool ErasedSince() => store.ErasedAt(tenant, subject) is { } erasedAt && occurredMs < erasedAt;
            var erasedLate = ErasedSince();
            var key = erasedLate ? SubjectSealer.NewKey() : await store.GetOrCreateSubjectKeyAsync(tenant, subject, SubjectSealer.NewKey, cancellationToken);
            // Asked again once the key is in hand: an erasure that ran between the first check and the lookup has
            // deleted the key, and the lookup then created a fresh one that would open this pre-erasure text. An
            // erasure is remembered before its key is deleted, so a key created after the deletion is always caught here.
            if (!erasedLate && ErasedSince())
            {
                erasedLate = true;
                key = SubjectSealer.NewKey();
            }
            using (var sealer = new SubjectFieldSealer(key, envelope.Id))
            {
                content = masker.Mask(data, subject, sealer);
            }

            if (policy.KeepOriginals && !erasedLate)
            {
                sealedOriginal = SubjectSealer.Seal(key, envelope.Id, CanonicalJson.Canonicalize(data));
            }
        }

        var occurred = envelope.Time ?? DateTimeOffset.UnixEpoch;
        var refId = (Field(data, "requestId") ?? Field(data, "reviewId")) is { } reference ? ColumnText.Clean(reference) : null;
        var entry = new AuditEntry(envelope.Id, envelope.EventType, envelope.Source, tenant, region, subject, occurred.ToUnixTimeMilliseconds(), content, sealedOriginal, refId);
        return new EntryDecision(region, entry, null);
    }

    private static string? Field(JsonElement data, string name)
    {
        foreach (var property in data.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
            }
        }

        return null;
    }
}
