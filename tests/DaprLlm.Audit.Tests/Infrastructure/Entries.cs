using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>Test entries and keys.</summary>
public static class Entries
{
    public static readonly byte[] CheckpointKey = "test-checkpoint-key-0123456789abcdef"u8.ToArray();
    public static readonly byte[] PseudonymKey = "test-pseudonym-key-0123456789abcdef"u8.ToArray();

    public static AuditEntry Make(int n, string tenant = "t1", string region = "eu", string? subject = null) =>
        new($"evt-{n}", "request.completed", "gateway", tenant, region, subject, 1_700_000_000_000 + n,
            $$"""{"n":{{n}},"outcome":"completed","requestId":"req-{{n}}"}""", null, $"req-{n}");
}
