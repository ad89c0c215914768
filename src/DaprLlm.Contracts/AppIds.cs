namespace DaprLlm.Contracts;

/// <summary>Dapr app ids of the four apps; the AppHost, dapr.yaml and component scopes use the same strings.</summary>
public static class AppIds
{
    public const string Gateway = "gateway";
    public const string Inference = "inference";

    /// <summary>The second inference replica, in region "us" (the local AppHost's "inference" replica serves "eu").</summary>
    public const string InferenceUs = "inference-us";
    public const string Safety = "safety";
    public const string Audit = "audit";
}
