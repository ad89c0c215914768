namespace DaprLlm.Safety.ReviewUi;

/// <summary>
/// Where the reviewer UI keeps the data-protection keys that sign its cookies and antiforgery tokens (section
/// "Review:KeyRing"), validated at start. On disk, a restart does not sign every reviewer out; replicas must share the
/// folder (a shared volume) or each refuses the others' cookies.
/// </summary>
public sealed class ReviewKeyRingOptions
{
    public const string Section = "Review:KeyRing";

    /// <summary>Folder of the key ring. Empty: <c>$DAPRLLM_DATA_DIR/review-keys</c>, else <c>data/review-keys</c> under the content root.</summary>
    public string Directory { get; set; } = "";

    /// <summary>The folder in force, absolute.</summary>
    public string ResolveDirectory(string contentRoot) =>
        Directory.Length > 0 ? Path.GetFullPath(Directory, contentRoot)
        : Environment.GetEnvironmentVariable("DAPRLLM_DATA_DIR") is { Length: > 0 } data ? Path.Combine(data, "review-keys")
        : Path.Combine(contentRoot, "data", "review-keys");
}
