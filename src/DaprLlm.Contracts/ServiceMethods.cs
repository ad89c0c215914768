namespace DaprLlm.Contracts;

/// <summary>Dapr service-invocation method paths the apps expose to each other.</summary>
public static class ServiceMethods
{
    /// <summary>safety: moderate a prompt before generation.</summary>
    public const string ModerateInput = "moderation/input";

    /// <summary>safety: moderate generated text before it is released.</summary>
    public const string ModerateOutput = "moderation/output";

    /// <summary>inference: generate a chat completion.</summary>
    public const string Generate = "v1/generate";

    /// <summary>inference: generate a chat completion as Server-Sent Events, one per token.</summary>
    public const string GenerateStream = "v1/generate/stream";

    /// <summary>inference: the model catalog of this replica.</summary>
    public const string Models = "v1/models";

    /// <summary>inference: embed texts with an embedding model.</summary>
    public const string Embeddings = "v1/embeddings";

    /// <summary>audit: one stored request record by request id (append the id).</summary>
    public const string AuditRequestPrefix = "audit/requests/";
}
