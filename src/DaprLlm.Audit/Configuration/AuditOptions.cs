using System.ComponentModel.DataAnnotations;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Configuration;

/// <summary>The audit app's settings (section "Audit"), validated at start.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>"sqlite" (embedded default) or "postgres".</summary>
    [Required, RegularExpression("^(sqlite|postgres)$")]
    public string Store { get; set; } = "sqlite";

    /// <summary>Folder of the SQLite files (one per region: audit-eu.db, audit-us.db).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data/audit";

    /// <summary>PostgreSQL connection string when <see cref="Store"/> is "postgres" (one schema per region).</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>
    /// PostgreSQL database of the subject keys (schema <c>audit_keys_{region}</c>); empty: the trail's database. Keep it
    /// apart, with its own short-lived backups, so erasure (key destruction) also reaches backups of the trail.
    /// </summary>
    public string? PostgresKeysConnectionString { get; set; }

    /// <summary>The regions this deployment keeps; each has its own store and archive.</summary>
    [MinLength(1)]
    public List<string> Regions { get; set; } = [];

    /// <summary>Region of events whose tenant has no policy and that carry no region.</summary>
    [Required]
    public string DefaultRegion { get; set; } = "eu";

    /// <summary>Topics recorded; every event type published on them is stored.</summary>
    [MinLength(1)]
    public List<string> Topics { get; set; } = [];

    [Range(1, 10_000)]
    public int MaxBatch { get; set; } = 512;

    [Range(1, 1_000_000)]
    public int CheckpointEvery { get; set; } = 1000;

    /// <summary>Folder of the archive segments (production: a blob container behind a Dapr output binding).</summary>
    [Required]
    public string ArchiveDirectory { get; set; } = "data/audit-archive";

    [Range(1, 10_000_000)]
    public int SegmentMaxRecords { get; set; } = 100_000;

    /// <summary>How often the retention job runs on its own (it can also be started through the admin API).</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Folder of the hourly compliance reports (one subfolder per region: reports never mix regions).</summary>
    [Required]
    public string ReportDirectory { get; set; } = "data/audit-reports";

    /// <summary>How often the report job looks for finished hours without a report.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReportCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How many past hours a (re)started job fills in when their reports are missing.</summary>
    [Range(1, 24 * 31)]
    public int ReportCatchUpHours { get; set; } = 24;

    /// <summary>
    /// Dapr output binding that receives archive segments in production (a blob store: operation "create", metadata
    /// blobName; deletion through "delete"). Empty: the archive folder is the archive.
    /// </summary>
    public string? ArchiveBinding { get; set; }

    /// <summary>The policy of tenants not listed in <see cref="Tenants"/>.</summary>
    public TenantPolicy DefaultPolicy { get; set; } = new();

    public Dictionary<string, TenantPolicy> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Admin API keys with their roles and the regions they may read.</summary>
    public List<AdminKey> Admins { get; set; } = [];

    /// <summary>Real-time safety alerting.</summary>
    public Alerts.AlertOptions Alerts { get; set; } = new();

    /// <summary>Secret store keys (Dapr secret store "secretstore") of the HMAC keys; Key Vault allows only letters, digits and dashes.</summary>
    [Required, RegularExpression(SecretNames.Pattern)]
    public string CheckpointKeySecret { get; set; } = SecretNames.AuditCheckpointSigningKey;

    [Required, RegularExpression(SecretNames.Pattern)]
    public string PseudonymKeySecret { get; set; } = SecretNames.AuditPseudonymKey;

    /// <summary>Defaults for lists (set here, not in initializers: binding appends to an initialized list).</summary>
    public void ApplyDefaults()
    {
        if (Regions.Count == 0)
        {
            Regions.AddRange(["eu", "us"]);
        }

        if (Topics.Count == 0)
        {
            Topics.AddRange(DaprLlm.Contracts.Topics.Audited);
        }

        Alerts.ApplyDefaults();
    }

    public TenantPolicy PolicyFor(string tenantId) => Tenants.TryGetValue(tenantId, out var policy) ? policy : DefaultPolicy;
}

/// <summary>Per-tenant data policy: where its records live, whether originals are kept (encrypted), how long.</summary>
public sealed class TenantPolicy
{
    /// <summary>The tenant's region; when null the event's own region (or the default) is used.</summary>
    public string? Region { get; set; }

    /// <summary>Keep the original (unmasked) content encrypted with the data subject's key, for investigations.</summary>
    public bool KeepOriginals { get; set; }

    [Range(0, 36_500)]
    public int HotDays { get; set; } = 30;

    [Range(0, 36_500)]
    public int ArchiveDays { get; set; } = 7 * 365;
}

/// <summary>One admin API key. Roles: "admin" (all admin operations) and "compliance" (reports).</summary>
public sealed class AdminKey
{
    [Required]
    public string Name { get; set; } = "";

    [Required, MinLength(16)]
    public string Key { get; set; } = "";

    [MinLength(1)]
    public List<string> Roles { get; set; } = [];

    public List<string> Regions { get; set; } = [];
}
