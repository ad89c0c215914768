using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>PII masking, pseudonyms, sealed originals, crypto-shredding erasure and subject access export.</summary>
public sealed class PrivacyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static object Completed(string tenant, string user, string prompt) => new
    {
        requestId = "req-" + Guid.NewGuid().ToString("N")[..8],
        model = "daprllm-demo",
        outcome = "completed",
        tenantId = tenant,
        userId = user,
        prompt,
        completion = "Sure, I will write to you.",
    };

    private static void KeepOriginals(AuditOptions o) => o.Tenants["acme"] = new TenantPolicy { Region = "eu", KeepOriginals = true };

    [Fact]
    public async Task Stored_content_has_pii_replaced_by_typed_placeholders_and_the_user_pseudonymized()
    {
        await using var rig = await TrailRig.StartAsync();
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "alice@example.com", "Mail me at alice@example.com or call +1 415 555 0132, card 4111 1111 1111 1111"));

        var record = Assert.Single(await rig.AllHotAsync("eu"));
        // The subject's masked text is stored sealed; opened with their key it shows the placeholders.
        var key = await rig.Writer("eu").Store.GetSubjectKeyAsync("acme", record.Entry.Subject!, Ct);
        var opened = SealedContent.Open(record.Entry, key);
        Assert.Equal(ContentStates.Readable, opened.State);
        Assert.Contains("<EMAIL_ADDRESS>", opened.Json, StringComparison.Ordinal);
        Assert.Contains("<CREDIT_CARD>", opened.Json, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@example.com", opened.Json, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", opened.Json, StringComparison.Ordinal);
        Assert.DoesNotContain("<EMAIL_ADDRESS>", record.Entry.Content, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@example.com", record.Entry.Content, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", record.Entry.Content, StringComparison.Ordinal);
        Assert.StartsWith("psn_", record.Entry.Subject, StringComparison.Ordinal);
        Assert.Equal(record.Entry.Subject, JsonDocument.Parse(record.Entry.Content).RootElement.GetProperty("userId").GetString());
        Assert.Null(record.Entry.Sealed);
        Assert.DoesNotContain("alice@example.com", rig.RawBytesOf("eu"), StringComparison.Ordinal);
    }

    [Fact]
    public void Pseudonyms_are_stable_per_tenant_and_differ_across_tenants()
    {
        var pseudonymizer = new Pseudonymizer(Entries.PseudonymKey);
        Assert.Equal(pseudonymizer.Pseudonymize("acme", "u1"), pseudonymizer.Pseudonymize("acme", "u1"));
        Assert.NotEqual(pseudonymizer.Pseudonymize("acme", "u1"), pseudonymizer.Pseudonymize("globex", "u1"));
        Assert.NotEqual(pseudonymizer.Pseudonymize("acme", "u1"), new Pseudonymizer("another-key-0123456789"u8.ToArray()).Pseudonymize("acme", "u1"));
    }

    [Fact]
    public async Task Originals_are_sealed_with_the_subject_key_and_readable_in_the_export()
    {
        await using var rig = await TrailRig.StartAsync(KeepOriginals);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-42", "my email is bob@example.org"));

        var record = Assert.Single(await rig.AllHotAsync("eu"));
        Assert.NotNull(record.Entry.Sealed);
        Assert.DoesNotContain("bob@example.org", rig.RawBytesOf("eu"), StringComparison.Ordinal);

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-42", Ct);
        var item = Assert.Single(export["records"]!.AsArray());
        Assert.Equal("readable", (string?)item!["originalState"]);
        Assert.Equal("my email is bob@example.org", (string?)item["original"]!["prompt"]);
        Assert.Equal(record.Hash, (string?)export["manifest"]!["hashes"]![0]);
    }

    [Fact]
    public async Task The_export_manifest_lists_the_chain_hash_of_every_archived_and_hot_record_and_a_digest_a_receiver_can_recompute()
    {
        await using var rig = await TrailRig.StartAsync(KeepOriginals);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-7", "first <tag> ü"));
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-7", "second"));
        var archivedHashes = (await rig.AllHotAsync("eu")).Select(r => r.Hash).ToList();
        rig.Time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(2, (await rig.Retention.RunAsync(rig.Writer("eu"), Ct)).RecordsArchived);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "someone-else", "other"));
        await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-7", "third"));
        var hot = await rig.AllHotAsync("eu");

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-7", Ct);
        var records = export["records"]!.AsArray();
        var manifest = export["manifest"]!;
        Assert.Equal(3, (int)manifest["count"]!);
        // The chain's own hashes, in chain order: archived 1 and 2, then hot 4 (3 is another subject's).
        Assert.Equal([1L, 2L, 4L], records.Select(r => (long)r!["seq"]!));
        Assert.Equal([.. archivedHashes, hot.Single(r => r.Seq == 4).Hash], manifest["hashes"]!.AsArray().Select(h => (string?)h));
        Assert.Equal(records.Select(r => (string?)r!["hash"]), manifest["hashes"]!.AsArray().Select(h => (string?)h));

        // A receiver holding only the JSON text recomputes the digest: the canonical form of the export without its manifest.
        var received = System.Text.Json.Nodes.JsonNode.Parse(export.ToJsonString())!.AsObject();
        var digest = (string?)received["manifest"]!["recordsSha256"];
        received.Remove("manifest");
        var recomputed = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(CanonicalJson.Canonicalize(received.ToJsonString()))));
        Assert.Equal(digest, recomputed);
    }

    [Fact]
    public async Task Erasure_shreds_the_key_records_itself_and_the_chain_still_verifies()
    {
        await using var rig = await TrailRig.StartAsync(KeepOriginals);
        for (var i = 0; i < 3; i++)
        {
            await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-erase", $"secret {i}: carol@example.net"));
            await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-keep", $"other {i}"));
        }

        var result = await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-erase", "tester", Ct);
        Assert.True(result.KeyDestroyed);

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-erase", Ct);
        var items = export["records"]!.AsArray();
        Assert.Equal(4, items.Count); // three events and the erasure record itself
        Assert.All(items.Where(i => (string?)i!["eventType"] == Topics.RequestCompleted), i =>
        {
            Assert.Equal("erased", (string?)i!["originalState"]);
            Assert.Null(i["original"]);
        });
        Assert.Contains(items, i => (string?)i!["eventType"] == SubjectService.ErasureEventType);
        Assert.DoesNotContain("carol@example.net", export.ToJsonString(), StringComparison.Ordinal);

        var other = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-keep", Ct);
        Assert.All(other["records"]!.AsArray(), i => Assert.Equal("readable", (string?)i!["originalState"]));

        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(7, report.RecordsChecked);
    }

    [Fact]
    public async Task Erasure_reaches_archived_and_hot_copies_and_names_the_subjects_requests()
    {
        await using var rig = await TrailRig.StartAsync(o => o.Tenants["acme"] = new TenantPolicy { Region = "eu", KeepOriginals = true, HotDays = 1 });
        var erasedRequests = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var gone = Completed("acme", "u-gone", $"archived {i}: dave@example.com");
            erasedRequests.Add((string)gone.GetType().GetProperty("requestId")!.GetValue(gone)!);
            await rig.IngestAsync(Topics.RequestCompleted, gone);
            await rig.IngestAsync(Topics.RequestCompleted, Completed("acme", "u-stays", $"kept {i}"));
        }

        rig.Time.Advance(TimeSpan.FromDays(2));
        var moved = await rig.Retention.RunAsync(rig.Writer("eu"), Ct);
        Assert.Equal(4, moved.RecordsArchived);
        var hot = Completed("acme", "u-gone", "hot: dave@example.com");
        erasedRequests.Add((string)hot.GetType().GetProperty("requestId")!.GetValue(hot)!);
        await rig.IngestAsync(Topics.RequestCompleted, hot);
        var before = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-gone", Ct);
        Assert.Equal(3, before["records"]!.AsArray().Count(i => (string?)i!["originalState"] == "readable"));

        var result = await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-gone", "tester", Ct);
        Assert.True(result.KeyDestroyed);
        Assert.Equal(erasedRequests.Order(StringComparer.Ordinal), result.RequestIds);

        var after = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-gone", Ct);
        var items = after["records"]!.AsArray().Where(i => (string?)i!["eventType"] == Topics.RequestCompleted).ToList();
        Assert.Equal(3, items.Count);
        Assert.All(items, i => Assert.Equal("erased", (string?)i!["originalState"]));
        Assert.DoesNotContain("dave@example.com", after.ToJsonString(), StringComparison.Ordinal);
        // On disk nothing readable is left: the database holds masked content and sealed originals, the archive the same.
        Assert.DoesNotContain("dave@example.com", rig.RawBytesOf("eu"), StringComparison.Ordinal);
        foreach (var file in Directory.GetFiles(rig.Options.ArchiveDirectory, "*", SearchOption.AllDirectories))
        {
            var text = file.EndsWith(".gz", StringComparison.Ordinal)
                ? await new StreamReader(new System.IO.Compression.GZipStream(File.OpenRead(file), System.IO.Compression.CompressionMode.Decompress)).ReadToEndAsync(Ct)
                : await File.ReadAllTextAsync(file, Ct);
            Assert.DoesNotContain("dave@example.com", text, StringComparison.Ordinal);
        }

        var kept = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-stays", Ct);
        Assert.All(kept["records"]!.AsArray(), i => Assert.Equal("readable", (string?)i!["originalState"]));
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(1, report.SegmentsChecked);
    }

    [Fact]
    public void A_sealed_original_cannot_be_opened_under_another_record_id()
    {
        var key = SubjectSealer.NewKey();
        var sealedText = SubjectSealer.Seal(key, "evt-1", "{\"a\":1}");
        Assert.Equal("{\"a\":1}", SubjectSealer.Open(key, "evt-1", sealedText));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => SubjectSealer.Open(key, "evt-2", sealedText));
    }

    [Fact]
    public async Task Events_of_any_type_are_stored_with_their_type()
    {
        await using var rig = await TrailRig.StartAsync();
        await rig.IngestAsync(Topics.ReviewDecided, new { reviewId = "rv-1", tenantId = "acme", decision = "approved", note = "call 415-555-0132" });
        var record = Assert.Single(await rig.AllHotAsync("eu"));
        Assert.Equal(Topics.ReviewDecided, record.Entry.EventType);
        Assert.Equal("rv-1", record.Entry.RefId);
    }
}
