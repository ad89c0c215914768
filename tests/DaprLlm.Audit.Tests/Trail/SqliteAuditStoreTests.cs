using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>The store contract on real SQLite files (WAL).</summary>
public sealed class SqliteAuditStoreTests : AuditStoreContract, IDisposable
{
    private readonly TempFolder _folder = new("daprllm-audit-sqlite");

    protected override async Task<IAuditStore> CreateStoreAsync(string region = "eu")
    {
        var store = new SqliteAuditStore(region, Path.Combine(_folder.Path, $"{Guid.NewGuid():N}-{region}.db"));
        await store.InitializeAsync(Ct);
        return store;
    }

    protected override async Task ExecuteSqlAsync(IAuditStore store, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteAuditStore)store).Path}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql.Replace("{records}", "records", StringComparison.Ordinal).Replace("{checkpoints}", "checkpoints", StringComparison.Ordinal);
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task Verify_decodes_ill_formed_utf8_as_the_ado_net_reader_does()
    {
        // Verify hashes SQLite's bytes in place only when they are well-formed UTF-8; other bytes must be judged on
        // the string ADO.NET decodes (ill-formed bytes become U+FFFD), as every other reader of the trail sees them.
        await using var store = await CreateStoreAsync();
        AuditEntry[] entries = [Entries.Make(1), Entries.Make(2) with { Source = "a\uFFFDb" }, Entries.Make(3)];
        await store.AppendAsync(ChainHash.Chain(ChainHead.Genesis, entries, 1_700_000_000_500, out _), null, Ct);
        await ExecuteSqlAsync(store, "UPDATE records SET source = CAST(X'61FF62' AS TEXT) WHERE seq = 2");
        Assert.Equal("a\uFFFDb", (await store.ReadAsync(2, 2, Ct).ToListAsync(Ct))[0].Entry.Source);
        var report = await new ChainVerifier(Signer).VerifyAsync(store, null, Ct);
        Assert.True(report.Ok, report.FirstProblem?.Detail);

        await ExecuteSqlAsync(store, "UPDATE records SET source = CAST(X'61FF63' AS TEXT) WHERE seq = 2");
        report = await new ChainVerifier(Signer).VerifyAsync(store, null, Ct);
        Assert.Equal((2L, ChainProblem.Altered), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task Verify_reads_text_stored_as_a_blob_as_the_same_bytes()
    {
        await using var store = await AwkwardStoreAsync();
        await ExecuteSqlAsync(store, "UPDATE records SET content = CAST(content AS BLOB), source = CAST(source AS BLOB) WHERE seq = 2");
        var report = await new ChainVerifier(Signer).VerifyAsync(store, null, Ct);
        Assert.True(report.Ok, report.FirstProblem?.Detail);

        await ExecuteSqlAsync(store, "UPDATE records SET content = CAST(content || ' ' AS BLOB) WHERE seq = 2");
        report = await new ChainVerifier(Signer).VerifyAsync(store, null, Ct);
        Assert.Equal((2L, ChainProblem.Altered), (report.FirstProblem!.Seq, report.FirstProblem.Kind));
    }

    [Fact]
    public async Task The_database_runs_in_wal_mode()
    {
        await using var store = await CreateStoreAsync();
        await using var connection = new SqliteConnection($"Data Source={((SqliteAuditStore)store).Path}");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task Subject_keys_found_in_an_older_trail_file_move_to_the_key_file()
    {
        var path = Path.Combine(_folder.Path, $"{Guid.NewGuid():N}-eu.db");
        await using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync(Ct);
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE subject_keys (tenant_id TEXT NOT NULL, subject TEXT NOT NULL, key_material TEXT NOT NULL, PRIMARY KEY (tenant_id, subject));
                INSERT INTO subject_keys VALUES ('acme', 'psn_old', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
                """;
            await create.ExecuteNonQueryAsync(Ct);
        }

        await using var store = new SqliteAuditStore("eu", path);
        await store.InitializeAsync(Ct);
        await store.InitializeAsync(Ct); // a restart finds nothing left to move

        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)i), await store.GetSubjectKeyAsync("acme", "psn_old", Ct));
        await using var trail = new SqliteConnection($"Data Source={path};Pooling=False");
        await trail.OpenAsync(Ct);
        await using var tables = trail.CreateCommand();
        tables.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'subject_keys'";
        Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync(Ct))!);
        Assert.True(File.Exists(store.KeysPath));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
