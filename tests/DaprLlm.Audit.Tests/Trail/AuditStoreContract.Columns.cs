using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>
/// Verify reads rows in the store's fastest form (SQLite: the columns' UTF-8 bytes, hashed in place): every column kind
/// must come back so that an untouched record still matches its hash, and a change to any one column must be caught.
/// </summary>
public abstract partial class AuditStoreContract
{
    // Text that needs JSON escaping or is not ASCII, in every text column, with nullable columns both set and null.
    private static readonly AuditEntry[] AwkwardEntries =
    [
        new("evt-1", "request.completed", "gateway", "t1", "eu", null, 1_700_000_000_001, """{"n":1}""", null, null),
        new("evt-2 \"quoted\" \\ 'single'", "type/ü", "src <script>&amp;", "tenant 中文", "eu", "psn_😀", -5,
            """{"b":"ü \" ' 😀 \u0001 \u2028","a":[1,2.50,-0e3,true,null],"c":{}}""", "c2VhbGVk+/=", "req\t\n\u0001\u007f"),
        new("evt-3", "request.completed", "gateway", "t2", "eu", "psn_1", long.MaxValue, """ [ "spaced" , 1 ] """, "sealed \uFFFD", "req-3"),
        new("evt-4", "request.completed", "gateway", "t1", "eu", null, 0, "\"just a string\"", null, null),
        new("evt-5", "request.completed", "gateway", "t1", "eu", "psn_5", 1_700_000_000_005, """{"n":5}""", "c2VhbGVk", "req-5"),
    ];

    protected async Task<IAuditStore> AwkwardStoreAsync()
    {
        var store = await CreateStoreAsync();
        await store.AppendAsync(ChainHash.Chain(ChainHead.Genesis, AwkwardEntries, 1_700_000_000_500, out _), null, Ct);
        return store;
    }

    [Fact]
    public async Task Records_with_every_column_kind_read_back_unchanged_and_verify()
    {
        await using var store = await AwkwardStoreAsync();
        var read = await store.ReadAsync(1, 100, Ct).ToListAsync(Ct);
        Assert.Equal(AwkwardEntries, read.Select(r => r.Entry));
        var report = await VerifyAsync(store);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(AwkwardEntries.Length, report.RecordsChecked);
    }

    public static TheoryData<long, string, string> ColumnEdits => new()
    {
        { 2, "event_id", "'evt-2 \"quoted\" \\ ''single '''" },
        { 2, "event_type", "'type/u'" },
        { 2, "source", "'src <script>&amp; '" },
        { 2, "tenant_id", "'tenant 中'" },
        { 2, "region", "'us'" },
        { 2, "subject", "'psn_😁'" },
        { 2, "subject", "NULL" },
        { 1, "subject", "''" },
        { 2, "occurred_at", "occurred_at + 1" },
        { 3, "occurred_at", "0" },
        { 2, "recorded_at", "recorded_at - 1" },
        { 2, "content", "'{\"b\":\"u\"}'" },
        { 3, "content", "' [\"spaced\",1]'" },
        { 2, "content", "''" },
        { 2, "sealed", "'c2VhbGVk+/+'" },
        { 2, "sealed", "NULL" },
        { 4, "sealed", "''" },
        { 2, "ref_id", "'req'" },
        { 2, "ref_id", "NULL" },
        { 4, "ref_id", "'req-4'" },
        { 2, "hash", "upper(hash)" },
        { 5, "hash", "'" + new string('e', 64) + "'" },
    };

    [Theory]
    [MemberData(nameof(ColumnEdits))]
    public async Task Verify_names_a_record_when_any_one_column_was_changed(long seq, string column, string value)
    {
        await using var store = await AwkwardStoreAsync();
        await ExecuteSqlAsync(store, $"UPDATE {{records}} SET {column} = {value} WHERE seq = {seq}");
        var report = await VerifyAsync(store);
        Assert.False(report.Ok);
        Assert.Equal((seq, ChainProblem.Altered), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }
}
