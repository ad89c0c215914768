using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Tests.Infrastructure;

namespace DaprLlm.Audit.Tests.Privacy;

/// <summary>Subject sealing and erasure over the embedded SQLite store (raw bytes: the database files themselves).</summary>
public sealed class SqliteSubjectSealingTests : SubjectSealingContract
{
    protected override Task<TrailRig> StartRigAsync(Action<AuditOptions>? configure = null) => TrailRig.StartAsync(configure);

    protected override Task<string> RawRowsAsync(TrailRig rig, string region) => Task.FromResult(rig.RawBytesOf(region));
}
