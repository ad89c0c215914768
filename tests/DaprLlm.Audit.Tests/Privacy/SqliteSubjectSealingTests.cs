using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>Subject sealing and erasure over the embedded SQLite store (raw bytes: the database files themselves).</summary>
public sealed class SqliteSubjectSealingTests : SubjectSealingContract
{
    protected override Task<TrailRig> StartRigAsync(Action<AuditOptions>? configure = null) => TrailRig.StartAsync(configure);

    protected override Task<string> RawRowsAsync(TrailRig rig, string region) => Task.FromResult(rig.RawBytesOf(region));

    protected override Task<string> TrailBackupAsync(TrailRig rig, string region)
    {
        // SQLite's online backup of the trail file (WAL content included), read back as bytes.
        var backup = Path.Combine(rig.Options.DataDirectory, $"backup-{region}-{Guid.NewGuid():N}.db");
        using (var source = new SqliteConnection($"Data Source={Path.Combine(rig.Options.DataDirectory, $"audit-{region}.db")};Pooling=False"))
        using (var target = new SqliteConnection($"Data Source={backup};Pooling=False"))
        {
            source.Open();
            target.Open();
            source.BackupDatabase(target);
        }

        return Task.FromResult(System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(backup)));
    }
}
