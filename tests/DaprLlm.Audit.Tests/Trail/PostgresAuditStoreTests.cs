using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using Npgsql;

namespace DaprLlm.Audit.Tests.Trail;

/// <summary>The store contract on a real PostgreSQL 15 cluster (a fresh database per test, one schema per region).</summary>
public sealed class PostgresAuditStoreTests(PostgresCluster postgres) : AuditStoreContract, IClassFixture<PostgresCluster>
{
    private readonly Dictionary<IAuditStore, string> _connections = [];

    protected override async Task<IAuditStore> CreateStoreAsync(string region = "eu")
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var store = new PostgresAuditStore(region, connectionString);
        await store.InitializeAsync(Ct);
        _connections[store] = connectionString;
        return store;
    }

    protected override async Task ExecuteSqlAsync(IAuditStore store, string sql)
    {
        var schema = ((PostgresAuditStore)store).Schema;
        await using var connection = new NpgsqlConnection(_connections[store]);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            sql.Replace("{records}", schema + ".records", StringComparison.Ordinal).Replace("{checkpoints}", schema + ".checkpoints", StringComparison.Ordinal), connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task Regions_live_in_separate_schemas_of_one_database()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var eu = new PostgresAuditStore("eu", connectionString);
        await using var us = new PostgresAuditStore("us", connectionString);
        await eu.InitializeAsync(Ct);
        await us.InitializeAsync(Ct);
        await using var writer = new ChainWriter(eu, Signer, TimeProvider.System);
        await writer.StartAsync(Ct);
        await writer.AppendAsync(Infrastructure.Entries.Make(1), Ct);
        Assert.Equal(1, (await eu.ReadHeadAsync(Ct)).Seq);
        Assert.Equal(0, (await us.ReadHeadAsync(Ct)).Seq);
    }

    [Fact]
    public async Task An_entry_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var store = new GatedStore(new PostgresAuditStore("eu", connectionString));
        await store.InitializeAsync(Ct);
        await using var writer = new ChainWriter(store, Signer, TimeProvider.System);
        await writer.StartAsync(Ct);

        var first = writer.AppendAsync(Infrastructure.Entries.Make(1), Ct);
        await store.FirstCommitEntered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        // Queued while the first commit is held, so the three go to the database in one batch. PostgreSQL text cannot hold NUL.
        var before = writer.AppendAsync(Infrastructure.Entries.Make(2), Ct);
        var refused = writer.AppendAsync(Infrastructure.Entries.Make(3) with { EventId = "evt-\0-3" }, Ct);
        var after = writer.AppendAsync(Infrastructure.Entries.Make(4), Ct);
        store.Release.SetResult();

        Assert.Equal(AppendOutcome.Stored, await first);
        Assert.Equal(AppendOutcome.Stored, await before);
        Assert.Equal(AppendOutcome.Stored, await after);
        await Assert.ThrowsAnyAsync<Exception>(() => refused);
        var report = await new ChainVerifier(Signer).VerifyAsync(store, null, Ct);
        Assert.True(report.Ok, report.FirstProblem?.Detail);
        Assert.Equal(3, report.RecordsChecked);
    }
}
