namespace DaprLlm.Contracts.Events;

/// <summary>
/// An administrative action worth an audit record (published on <see cref="Topics.AdminAction"/>): a key created,
/// rotated or revoked, a tenant created or changed. <paramref name="Detail"/> never holds a secret.
/// </summary>
public sealed record AdminActionV1(
    string Action,
    string App,
    string? TenantId,
    string? KeyId,
    DateTimeOffset At,
    string? Detail = null)
{
    /// <summary>Action values.</summary>
    public static class Actions
    {
        public const string TenantCreated = "tenant.created";
        public const string TenantChanged = "tenant.changed";
        public const string KeyCreated = "key.created";
        public const string KeyRotated = "key.rotated";
        public const string KeyRevoked = "key.revoked";
    }
}
