using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Audit.Trail;

/// <summary>Signs and checks checkpoints with an HMAC-SHA256 key held outside the database (the Dapr secret store).</summary>
public sealed class CheckpointSigner(byte[] key)
{
    public Checkpoint Sign(string region, ChainHead head, long createdAtMs) =>
        new(region, head.Seq, head.Hash, createdAtMs, Compute(region, head.Seq, head.Hash, createdAtMs));

    public bool IsValid(Checkpoint checkpoint)
    {
        var expected = Compute(checkpoint.Region, checkpoint.Seq, checkpoint.Hash, checkpoint.CreatedAtMs);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(checkpoint.Signature));
    }

    private string Compute(string region, long seq, string hash, long createdAtMs)
    {
        var message = string.Create(CultureInfo.InvariantCulture, $"checkpoint|{region}|{seq}|{hash}|{createdAtMs}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(message)));
    }
}
