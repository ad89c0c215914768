namespace DaprLlm.Safety.ReviewUi.Components;

/// <summary>The category labels a reviewer can attach (OpenAI's moderation categories plus jailbreak); keys 1–9 toggle the first nine.</summary>
public static class ReviewLabels
{
    public static readonly IReadOnlyList<string> All =
    [
        "sexual", "sexual/minors", "hate", "hate/threatening", "harassment", "harassment/threatening", "self-harm",
        "violence", "violence/graphic", "illicit", "jailbreak",
    ];
}
