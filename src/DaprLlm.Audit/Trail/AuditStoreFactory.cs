using DaprLlm.Audit.Configuration;

namespace DaprLlm.Audit.Trail;

/// <summary>Creates one store per region from configuration: a SQLite file each, or a PostgreSQL schema each.</summary>
public static class AuditStoreFactory
{
    public static IAuditStore Create(AuditOptions options, string region) => options.Store switch
    {
        "postgres" => new PostgresAuditStore(region, options.PostgresConnectionString!, options.PostgresKeysConnectionString),
        _ => new SqliteAuditStore(region, Path.Combine(options.DataDirectory, $"audit-{region}.db")),
    };
}
