using System.Security.Cryptography;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// A secret shared by the sidecars of one run through their registry folder (created by the first one,
/// readable by its owner only). Sidecar-to-sidecar calls carry it, the role mTLS plays between daprd
/// instances, so the internal route cannot be used to reach an app past its sidecar's API token.
/// </summary>
public sealed class InternalInvocationAuth
{
    private readonly Lazy<string> _token;

    public InternalInvocationAuth(SidecarOptions options) =>
        _token = new Lazy<string>(() => ReadOrCreate(Path.Combine(options.RegistryPath, ".internal-token")));

    public string Token => _token.Value;

    public bool IsValid(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(presented), System.Text.Encoding.ASCII.GetBytes(Token));

    private static string ReadOrCreate(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (!File.Exists(file))
        {
            var temp = $"{file}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            try
            {
                // Without overwrite: when two sidecars start together, the first rename wins and both read it.
                File.Move(temp, file, overwrite: false);
            }
            catch (IOException)
            {
                File.Delete(temp);
            }
        }

        return File.ReadAllText(file).Trim();
    }
}
