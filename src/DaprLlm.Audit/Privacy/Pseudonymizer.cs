using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Audit.Privacy;

/// <summary>
/// Replaces user identifiers by a keyed HMAC per tenant: stable (all of a user's records group under one pseudonym),
/// not reversible without the key, and different across tenants so pseudonyms cannot be joined between them.
/// </summary>
public sealed class Pseudonymizer(byte[] masterKey)
{
    public string Pseudonymize(string tenantId, string userId)
    {
        var tenantKey = HMACSHA256.HashData(masterKey, Encoding.UTF8.GetBytes("tenant:" + tenantId));
        var mac = HMACSHA256.HashData(tenantKey, Encoding.UTF8.GetBytes(userId));
        return "psn_" + Convert.ToHexStringLower(mac.AsSpan(0, 16));
    }
}
