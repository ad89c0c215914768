using System.IO.Compression;
using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>
/// A data subject's masked free text is stored only sealed with their key, so erasure makes it unreadable in the hot
/// rows, the archive segments and the export while the chain verifies; run on SQLite and on PostgreSQL.
/// </summary>
public abstract class SubjectSealingContract
{
    // Masked text the detector leaves alone: it must never be readable at rest for a subject's record.
    private const string Secret = "the violet-harbour-7731 plan";

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A rig over this engine (HotDays = 1 for tenant acme so retention archives on demand).</summary>
    protected abstract Task<TrailRig> StartRigAsync(Action<AuditOptions>? configure = null);

    /// <summary>Every stored row of the region's records and segments tables as text, plus the archive files.</summary>
    protected abstract Task<string> RawRowsAsync(TrailRig rig, string region);

    /// <summary>A backup of the region's trail as an operator takes it (SQLite: a copy of its database; PostgreSQL: every table of its schema).</summary>
    protected abstract Task<string> TrailBackupAsync(TrailRig rig, string region);

    private static object Completed(string user, string prompt, string? requestId = null) => new
    {
        requestId = requestId ?? "req-" + Guid.NewGuid().ToString("N")[..8],
        model = "daprllm-demo",
        outcome = "completed",
        tenantId = "acme",
        userId = user,
        prompt,
        completion = "Noted: " + prompt,
    };

    private static void Acme(AuditOptions o) => o.Tenants["acme"] = new TenantPolicy { Region = "eu", HotDays = 1 };

    [Fact]
    public async Task An_event_from_before_an_erasure_that_arrives_after_it_is_born_erased_and_a_later_one_is_readable()
    {
        await using var rig = await StartRigAsync(o => o.Tenants["acme"] = new TenantPolicy { Region = "eu", HotDays = 1, KeepOriginals = true });
        var beforeErasure = rig.Time.GetUtcNow();
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-late", $"first: {Secret}"));
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-late", "tester", Ct);
        rig.Time.Advance(TimeSpan.FromMinutes(1));

        // A redelivery of an event from before the erasure, then the person's new activity.
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-late", $"late: {Secret}", "req-late"), time: beforeErasure);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-late", "after: a new question", "req-after"));

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-late", Ct);
        var text = export.ToJsonString();
        // Before, the late event got a fresh key: its text and its kept original were readable again.
        Assert.DoesNotContain("violet-harbour-7731", text, StringComparison.Ordinal);
        var records = export["records"]!.AsArray();
        var late = records.Single(r => r!["seq"]!.GetValue<long>() == 3); // 1: first, 2: the erasure, 3: late, 4: after
        Assert.Equal(ContentStates.Erased, late!["contentState"]!.GetValue<string>());
        Assert.Equal("not_kept", late["originalState"]!.GetValue<string>());
        var after = records.Single(r => r!["seq"]!.GetValue<long>() == 4);
        Assert.Equal(ContentStates.Readable, after!["contentState"]!.GetValue<string>());
        Assert.Contains("a new question", after.ToJsonString(), StringComparison.Ordinal);
        Assert.True((await rig.VerifyAsync("eu")).Ok);
    }

    [Fact]
    public async Task An_erasure_that_lands_between_ingestions_erasure_check_and_its_key_lookup_still_leaves_the_event_erased()
    {
        await using var rig = await StartRigAsync(o => o.Tenants["acme"] = new TenantPolicy { Region = "eu", HotDays = 1, KeepOriginals = true });
        var beforeErasure = rig.Time.GetUtcNow();
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-race", "first: a plain question"));
        rig.Time.Advance(TimeSpan.FromMinutes(1));

        // An event from before the erasure passes the erasure check; the erasure then deletes the key before the
        // event's key lookup, which finds none and creates another.
        var hooked = new GatedStore(rig.Writer("eu").Store)
        {
            BeforeSubjectKey = async () => await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-race", "tester", Ct),
        };
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-race", $"racing: {Secret}", "req-race"), time: beforeErasure, storeFor: _ => hooked);
        Assert.Null(hooked.BeforeSubjectKey);

        // Before, the racing text was sealed with that new key, which stays: it was readable after the erasure.
        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-race", Ct);
        Assert.DoesNotContain("violet-harbour-7731", export.ToJsonString(), StringComparison.Ordinal);
        var racing = export["records"]!.AsArray().Single(r => (string?)r!["content"]!["requestId"] == "req-race");
        Assert.Equal(ContentStates.Erased, (string?)racing!["contentState"]);
        Assert.Equal("not_kept", (string?)racing["originalState"]);
        Assert.True((await rig.VerifyAsync("eu")).Ok);
    }

    [Fact]
    public async Task A_backup_of_the_trail_holds_no_subject_key_so_erasure_reaches_it_too()
    {
        await using var rig = await StartRigAsync(Acme);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-backed-up", $"before the backup: {Secret}"));
        var subject = rig.Runtime.Pseudonymizer.Pseudonymize("acme", "u-backed-up");
        var key = await rig.Writer("eu").Store.GetSubjectKeyAsync("acme", subject, Ct);
        Assert.NotNull(key);

        // The backup holds the sealed text but not the key that opens it: once the key is destroyed, nothing can.
        var backup = await TrailBackupAsync(rig, "eu");
        Assert.Contains(SubjectFieldSealer.Prefix, backup, StringComparison.Ordinal);
        Assert.DoesNotContain("violet-harbour-7731", backup, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(key!), backup, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(key!), backup, StringComparison.OrdinalIgnoreCase);

        await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-backed-up", "tester", Ct);
        Assert.Null(await rig.Writer("eu").Store.GetSubjectKeyAsync("acme", subject, Ct));
        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }

    [Fact]
    public async Task Erasure_leaves_a_subjects_masked_text_unreadable_in_rows_archive_and_export_while_the_chain_verifies()
    {
        await using var rig = await StartRigAsync(Acme);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-gone", $"archived: {Secret}, mail erin@example.com"));
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-stays", "kept: a plain question"));
        rig.Time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(2, (await rig.Retention.RunAsync(rig.Writer("eu"), Ct)).RecordsArchived);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-gone", $"hot: {Secret}"));
        await rig.IngestAsync(Topics.RequestCompleted, new { requestId = "req-anon", tenantId = "acme", outcome = "completed", prompt = "anonymous open-kestrel-55 text" });

        // Before erasure: only ciphertext at rest, the export opens it.
        var before = await RawAtRestAsync(rig);
        Assert.DoesNotContain("violet-harbour-7731", before, StringComparison.Ordinal);
        Assert.DoesNotContain("erin@example.com", before, StringComparison.Ordinal);
        Assert.Contains(SubjectFieldSealer.Prefix, before, StringComparison.Ordinal);
        Assert.Contains("open-kestrel-55", before, StringComparison.Ordinal); // no subject: masked text stays clear
        var readable = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-gone", Ct);
        var readableItems = readable["records"]!.AsArray();
        Assert.Equal(2, readableItems.Count);
        Assert.All(readableItems, i => Assert.Equal(ContentStates.Readable, (string?)i!["contentState"]));
        Assert.Contains(readableItems, i => ((string?)i!["content"]!["prompt"])!.Contains(Secret, StringComparison.Ordinal));
        Assert.Contains(readableItems, i => (string?)i!["content"]!["prompt"] == $"archived: {Secret}, mail <EMAIL_ADDRESS>");

        var result = await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-gone", "tester", Ct);
        Assert.True(result.KeyDestroyed);

        // After: the same bytes at rest, now without a key; the export shows only erased markers; the chain verifies.
        var after = await RawAtRestAsync(rig);
        Assert.DoesNotContain("violet-harbour-7731", after, StringComparison.Ordinal);
        var erased = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-gone", Ct);
        var items = erased["records"]!.AsArray().Where(i => (string?)i!["eventType"] == Topics.RequestCompleted).ToList();
        Assert.Equal(2, items.Count);
        Assert.All(items, i =>
        {
            Assert.Equal(ContentStates.Erased, (string?)i!["contentState"]);
            Assert.Equal(SealedContent.ErasedMarker, (string?)i["content"]!["prompt"]);
            Assert.Equal(SealedContent.ErasedMarker, (string?)i["content"]!["completion"]);
            Assert.Equal("completed", (string?)i["content"]!["outcome"]); // identifiers stay for reports
        });
        Assert.DoesNotContain("violet-harbour", erased.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SubjectFieldSealer.Prefix, erased.ToJsonString(), StringComparison.Ordinal);
        var kept = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-stays", Ct);
        Assert.Equal("kept: a plain question", (string?)Assert.Single(kept["records"]!.AsArray())!["content"]!["prompt"]);

        var report = await rig.VerifyAsync("eu");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(1, report.SegmentsChecked);
        Assert.Equal(3, report.RecordsChecked); // hot: two events and the erasure; the archived two are the segment
    }

    [Fact]
    public async Task A_subject_who_returns_after_erasure_gets_a_new_key_and_the_old_text_stays_erased()
    {
        await using var rig = await StartRigAsync(Acme);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-back", $"first life: {Secret}"));
        await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-back", "tester", Ct);
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-back", "second life"));

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-back", Ct);
        var prompts = export["records"]!.AsArray().Where(i => (string?)i!["eventType"] == Topics.RequestCompleted)
            .Select(i => ((string?)i!["contentState"], (string?)i["content"]!["prompt"])).ToList();
        Assert.Equal([(ContentStates.Erased, SealedContent.ErasedMarker), (ContentStates.Readable, "second life")], prompts);
    }

    [Fact]
    public async Task Records_stored_before_sealing_still_read_as_they_are()
    {
        await using var rig = await StartRigAsync(Acme);
        var subject = rig.Runtime.Pseudonymizer.Pseudonymize("acme", "u-legacy");
        var content = CanonicalJson.Canonicalize(JsonSerializer.Serialize(new { requestId = "req-legacy", tenantId = "acme", userId = subject, prompt = "legacy <EMAIL_ADDRESS>" }));
        await rig.Writer("eu").AppendAsync(new AuditEntry("evt-legacy", Topics.RequestCompleted, "gateway", "acme", "eu", subject, 0, content, null, "req-legacy"), Ct);

        var export = await rig.Subjects.ExportAsync(rig.Writer("eu"), "acme", "u-legacy", Ct);
        var item = Assert.Single(export["records"]!.AsArray());
        Assert.Equal(ContentStates.Clear, (string?)item!["contentState"]);
        Assert.Equal("legacy <EMAIL_ADDRESS>", (string?)item["content"]!["prompt"]);
    }

    [Fact]
    public async Task Reports_count_a_subjects_sealed_records_by_their_clear_dimensions_before_and_after_erasure()
    {
        await using var rig = await StartRigAsync(Acme);
        var from = rig.Time.GetUtcNow();
        await rig.IngestAsync(Topics.ModerationDecided, new { requestId = "req-m", tenantId = "acme", userId = "u-r", direction = "input", action = "block", topCategory = "violence", note = Secret });
        await rig.IngestAsync(Topics.RequestCompleted, Completed("u-r", Secret, "req-m"));
        var first = await ComplianceReportBuilder.BuildAsync([rig.Writer("eu").Store], from, from.AddHours(1), null, Ct);
        await rig.Subjects.EraseAsync(rig.Writer("eu"), "acme", "u-r", "tester", Ct);
        var second = await ComplianceReportBuilder.BuildAsync([rig.Writer("eu").Store], from, from.AddHours(1), null, Ct);

        foreach (var report in new[] { first, second })
        {
            var json = JsonSerializer.SerializeToNode(report)!.ToJsonString();
            Assert.DoesNotContain("violet-harbour", json, StringComparison.Ordinal);
        }

        Assert.Equal(1, first.ByCategory.GetValueOrDefault("violence"));
        Assert.Equal(first.ByCategory, second.ByCategory);
        Assert.Equal(first.ByOutcome, second.ByOutcome);
        Assert.Equal(1, second.Requests);
        Assert.Equal(1, second.Erasures);
    }

    private async Task<string> RawAtRestAsync(TrailRig rig)
    {
        var text = new System.Text.StringBuilder(await RawRowsAsync(rig, "eu"));
        foreach (var file in Directory.GetFiles(rig.Options.ArchiveDirectory, "*", SearchOption.AllDirectories))
        {
            text.Append(file.EndsWith(".gz", StringComparison.Ordinal)
                ? await new StreamReader(new GZipStream(File.OpenRead(file), CompressionMode.Decompress)).ReadToEndAsync(Ct)
                : await File.ReadAllTextAsync(file, Ct));
        }

        return text.ToString();
    }
}
