namespace DaprLlm.Gateway.Audit;

/// <summary>Audit event publishing (section "Audit"); where and how events are kept until published is section "Outbox".</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>Publish request and admin events; off only for benchmarks that measure what publishing costs.</summary>
    public bool Enabled { get; set; } = true;
}
