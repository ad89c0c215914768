using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>
/// The behaviour every <see cref="IAuditStore"/> must have, run against SQLite and PostgreSQL: chaining, idempotent
/// appends, checkpoints, and a verify that names the first record altered, removed or inserted directly in the database.
/// </summary>
public abstract partial class AuditStoreContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract Task<IAuditStore> CreateStoreAsync(string region = "eu");

    /// <summary>Runs SQL directly against the store's database, as an attacker with database access would; {records} names the table.</summary>
    protected abstract Task ExecuteSqlAsync(IAuditStore store, string sql);

    protected static CheckpointSigner Signer { get; } = new(Entries.CheckpointKey);

    protected async Task<(ChainWriter Writer, IAuditStore Store)> WriterWithAsync(int records, int checkpointEvery = 1000)
    {
        var store = await CreateStoreAsync();
        var writer = new ChainWriter(store, Signer, new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)), 64, checkpointEvery);
        await writer.StartAsync(Ct);
        await Task.WhenAll(Enumerable.Range(1, records).Select(n => writer.AppendAsync(Entries.Make(n), Ct)));
        return (writer, store);
    }

    private static Task<VerifyReport> VerifyAsync(IAuditStore store) => new ChainVerifier(Signer).VerifyAsync(store, null, Ct);

    [Fact]
    public async Task Appended_records_form_a_chain_that_verifies()
    {
        var (writer, store) = await WriterWithAsync(300, checkpointEvery: 100);
        await using var _ = writer;
        var report = await VerifyAsync(store);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(300, report.RecordsChecked);
        Assert.InRange(report.CheckpointsChecked, 2, 3);

        // Signing the head pins the whole chain: nothing is left unsigned.
        Assert.NotNull(await writer.CheckpointNowAsync(Ct));
        report = await VerifyAsync(store);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(0, report.UnsignedTail);
        Assert.Equal(300, (await store.ReadHeadAsync(Ct)).Seq);
    }

    [Fact]
    public async Task Redelivered_event_ids_are_stored_once()
    {
        var (writer, store) = await WriterWithAsync(10);
        await using var _ = writer;
        var outcomes = await Task.WhenAll(Enumerable.Range(1, 10).Select(n => writer.AppendAsync(Entries.Make(n), Ct)));
        Assert.All(outcomes, o => Assert.Equal(AppendOutcome.Duplicate, o));
        Assert.Equal(10, (await store.ReadHeadAsync(Ct)).Seq);
        Assert.True((await VerifyAsync(store)).Ok);
    }

    [Fact]
    public async Task Redeliveries_mixed_with_new_events_and_repeated_within_a_batch_are_stored_once()
    {
        var (writer, store) = await WriterWithAsync(5);
        await using var _ = writer;

        // 3 is already stored, 6 arrives twice and 3 twice among new events; however the writer splits them into
        // batches, each id is stored exactly once and every other delivery answers Duplicate.
        int[] ids = [3, 6, 6, 7, 3, 8];
        var outcomes = await Task.WhenAll(ids.Select(n => writer.AppendAsync(Entries.Make(n), Ct)));
        Assert.Equal(3, outcomes.Count(o => o == AppendOutcome.Stored));
        Assert.Equal(AppendOutcome.Duplicate, outcomes[0]);
        Assert.Equal(AppendOutcome.Duplicate, outcomes[4]);
        var sixes = outcomes.Where((_, i) => ids[i] == 6).ToList();
        Assert.Equal(1, sixes.Count(o => o == AppendOutcome.Stored));
        Assert.Equal(1, sixes.Count(o => o == AppendOutcome.Duplicate));
        var report = await VerifyAsync(store);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(8, report.RecordsChecked);
        var stored = new List<string>();
        await foreach (var record in store.ReadAsync(1, 100, Ct))
        {
            stored.Add(record.Entry.EventId);
        }

        Assert.Equal(8, stored.Distinct().Count());
        Assert.Equal(new[] { "evt-1", "evt-2", "evt-3", "evt-4", "evt-5", "evt-6", "evt-7", "evt-8" }, stored.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task A_batch_round_trips_every_field_including_nulls()
    {
        await using var store = await CreateStoreAsync();
        AuditEntry[] entries =
        [
            new("evt-a", "request.received", "gateway", "t1", "eu", "psn_1", 1_700_000_000_001, """{"a":1}""", "c2VhbGVk", "req-a"),
            new("evt-b", "moderation.decided", "safety", "t2", "eu", null, 1_700_000_000_002, """{"b":"ü \" '"}""", null, null),
        ];
        var records = ChainHash.Chain(ChainHead.Genesis, entries, 1_700_000_000_500, out _);
        await store.AppendAsync(records, null, Ct);
        var read = new List<AuditRecord>();
        await foreach (var record in store.ReadAsync(1, 10, Ct))
        {
            read.Add(record);
        }

        Assert.Equal(records, read);
    }

    [Fact]
    public async Task A_batch_holding_an_already_stored_event_id_commits_nothing()
    {
        await using var store = await CreateStoreAsync();
        var first = ChainHash.Chain(ChainHead.Genesis, [Entries.Make(1)], 1_700_000_000_500, out var head);
        await store.AppendAsync(first, null, Ct);

        // Only the writer filters duplicates; if one reaches the store anyway the whole transaction must fail.
        var second = ChainHash.Chain(head, [Entries.Make(2), Entries.Make(1)], 1_700_000_000_600, out _);
        await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(second, null, Ct));
        Assert.Equal(head, await store.ReadHeadAsync(Ct));
        Assert.Equal(new[] { "evt-1" }, (await store.FindExistingAsync(["evt-1", "evt-2"], Ct)).ToArray());
    }

    [Fact]
    public async Task A_writer_restarted_on_the_same_store_continues_the_chain()
    {
        var (writer, store) = await WriterWithAsync(20);
        await writer.DisposeAsync();
        var again = new ChainWriter(store, Signer, TimeProvider.System, 64, 1000);
        await again.StartAsync(Ct);
        await using var _ = again;
        Assert.Equal(AppendOutcome.Stored, await again.AppendAsync(Entries.Make(21), Ct));
        Assert.Equal(AppendOutcome.Duplicate, await again.AppendAsync(Entries.Make(5), Ct));
        var report = await VerifyAsync(store);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(21, report.RecordsChecked);
    }

    [Fact]
    public async Task Verify_names_a_record_whose_content_was_altered()
    {
        var (writer, store) = await WriterWithAsync(50);
        await using var _ = writer;
        await ExecuteSqlAsync(store, "UPDATE {records} SET content = '{\"n\":17,\"outcome\":\"refused_input\"}' WHERE seq = 17");
        var report = await VerifyAsync(store);
        Assert.False(report.Ok);
        Assert.Equal(17, report.FirstProblem!.Seq);
        Assert.Equal(ChainProblem.Altered, report.FirstProblem.Kind);
    }

    [Fact]
    public async Task Verify_names_a_record_whose_tenant_was_altered()
    {
        var (writer, store) = await WriterWithAsync(50);
        await using var _ = writer;
        await ExecuteSqlAsync(store, "UPDATE {records} SET tenant_id = 'other' WHERE seq = 33");
        var report = await VerifyAsync(store);
        Assert.Equal((33L, ChainProblem.Altered), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_names_a_record_deleted_from_the_middle()
    {
        var (writer, store) = await WriterWithAsync(50);
        await using var _ = writer;
        await ExecuteSqlAsync(store, "DELETE FROM {records} WHERE seq = 21");
        var report = await VerifyAsync(store);
        Assert.Equal((21L, ChainProblem.Removed), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_names_records_deleted_from_the_end_through_the_signed_checkpoint()
    {
        var (writer, store) = await WriterWithAsync(50, checkpointEvery: 25);
        await using var _ = writer;
        // Automatic checkpoints fall on batch boundaries, which depend on timing; sign the head (unless a batch
        // just did) so seq 50 is pinned.
        await writer.CheckpointNowAsync(Ct);
        await ExecuteSqlAsync(store, "DELETE FROM {records} WHERE seq > 45");
        var report = await VerifyAsync(store);
        Assert.Equal((46L, ChainProblem.Removed), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_names_a_record_inserted_with_a_forged_hash()
    {
        var (writer, store) = await WriterWithAsync(50);
        await using var _ = writer;
        // The attacker makes room at seq 31, then inserts a record correctly chained after record 30.
        var records = await store.ReadAsync(30, 30, Ct).ToListAsync(Ct);
        var forgedEntry = Entries.Make(999) with { EventId = "forged" };
        var forgedHash = ChainHash.Compute(records[0].Hash, forgedEntry, records[0].RecordedAtMs);
        await ExecuteSqlAsync(store, "UPDATE {records} SET seq = seq + 1000 WHERE seq > 30");
        await ExecuteSqlAsync(store, "UPDATE {records} SET seq = seq - 999 WHERE seq > 1000");
        await ExecuteSqlAsync(store, $"""
            INSERT INTO {"{records}"} (seq, event_id, event_type, source, tenant_id, region, subject, occurred_at, recorded_at, content, sealed, prev_hash, hash, ref_id)
            VALUES (31, 'forged', '{forgedEntry.EventType}', '{forgedEntry.Source}', '{forgedEntry.TenantId}', '{forgedEntry.Region}', NULL, {forgedEntry.OccurredAtMs},
                    {records[0].RecordedAtMs}, '{forgedEntry.Content}', NULL, '{records[0].Hash}', '{forgedHash}', '{forgedEntry.RefId}')
            """);
        var report = await VerifyAsync(store);
        Assert.Equal((31L, ChainProblem.Inserted), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_names_a_record_appended_without_a_valid_link()
    {
        var (writer, store) = await WriterWithAsync(20);
        await using var _ = writer;
        await ExecuteSqlAsync(store, $"""
            INSERT INTO {"{records}"} (seq, event_id, event_type, source, tenant_id, region, subject, occurred_at, recorded_at, content, sealed, prev_hash, hash, ref_id)
            VALUES (21, 'appended', 'x', 'x', 't1', 'eu', NULL, 1, 1, '{"{}"}', NULL, '{new string('a', 64)}', '{new string('b', 64)}', NULL)
            """);
        var report = await VerifyAsync(store);
        Assert.Equal((21L, ChainProblem.Inserted), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_rejects_a_checkpoint_whose_signature_does_not_match()
    {
        var (writer, store) = await WriterWithAsync(30, checkpointEvery: 10);
        await using var _ = writer;
        var head = (await writer.CheckpointNowAsync(Ct))?.Seq ?? (await store.ReadCheckpointsAsync(Ct))[^1].Seq;
        await ExecuteSqlAsync(store, "UPDATE {checkpoints} SET hash = '" + new string('c', 64) + "' WHERE seq = " + head);
        var report = await VerifyAsync(store);
        Assert.Equal((head, ChainProblem.BadCheckpoint), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_names_a_record_whose_link_was_edited()
    {
        var (writer, store) = await WriterWithAsync(40);
        await using var _ = writer;
        await ExecuteSqlAsync(store, "UPDATE {records} SET prev_hash = '" + new string('d', 64) + "' WHERE seq = 12");
        var report = await VerifyAsync(store);
        Assert.Equal((12L, ChainProblem.Altered), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_of_an_empty_store_is_ok()
    {
        await using var store = await CreateStoreAsync();
        await store.InitializeAsync(Ct);
        var report = await VerifyAsync(store);
        Assert.True(report.Ok);
        Assert.Equal(0, report.RecordsChecked);
    }
}
