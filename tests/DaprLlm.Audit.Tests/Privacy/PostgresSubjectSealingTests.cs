using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;
using Npgsql;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>Subject sealing and erasure over PostgreSQL (raw rows: every column of records and segments as text).</summary>
public sealed class PostgresSubjectSealingTests(PostgresCluster postgres) : SubjectSealingContract, IClassFixture<PostgresCluster>
{
    private string _connectionString = "";

    protected override async Task<TrailRig> StartRigAsync(Action<AuditOptions>? configure = null)
    {
        _connectionString = await postgres.CreateDatabaseAsync();
        return await TrailRig.StartAsync(o =>
        {
            o.Store = "postgres";
            o.PostgresConnectionString = _connectionString;
            configure?.Invoke(o);
        });
    }

    protected override async Task<string> TrailBackupAsync(TrailRig rig, string region)
    {
        // What a dump of the region's schema holds: every row of every table in audit_{region}.
        var text = new System.Text.StringBuilder();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = @schema", connection))
        {
            list.Parameters.AddWithValue("schema", "audit_" + region);
            await using var reader = await list.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("records", tables);
        foreach (var table in tables)
        {
            await using var command = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM audit_{region}.{table} t", connection);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                text.Append(reader.GetString(0)).Append('\n');
            }
        }

        return text.ToString();
    }

    protected override async Task<string> RawRowsAsync(TrailRig rig, string region)
    {
        var text = new System.Text.StringBuilder();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(Ct);
        foreach (var table in new[] { "records", "segments" })
        {
            await using var command = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM audit_{region}.{table} t", connection);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                text.Append(reader.GetString(0)).Append('\n');
            }
        }

        return text.ToString();
    }
}
