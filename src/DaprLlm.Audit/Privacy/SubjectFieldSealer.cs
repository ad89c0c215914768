using System.Security.Cryptography;
using System.Text;

namespace DaprLlm.Audit.Privacy;

/// <summary>
/// Seals the free-text fields of one record with its data subject's key. A sealed field is stored as
/// <c>sealed:v1:</c> + base64(nonce ‖ ciphertext ‖ tag), authenticated with the record's event id.
/// </summary>
public sealed class SubjectFieldSealer(byte[] key, string eventId) : IDisposable
{
    /// <summary>Marks a stored string as sealed (plain records written before sealing have no marker).</summary>
    public const string Prefix = "sealed:v1:";

    private readonly AesGcm _aes = new(key, SubjectSealer.TagSize);
    private readonly byte[] _associatedData = Encoding.UTF8.GetBytes(eventId);

    public string Seal(string text) => Prefix + SubjectSealer.Seal(_aes, _associatedData, text);

    public void Dispose() => _aes.Dispose();
}
