using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Chat;

/// <summary>Chat completion settings (section "Chat"), validated at start.</summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>The model id that lets the gateway pick a model by request size.</summary>
    public const string AutoModel = "auto";

    /// <summary>Chat model ids clients may ask for, smallest tier first; "auto" picks among them.</summary>
    [MinLength(1)]
    public string[] Models { get; set; } = ["daprllm-demo"];

    /// <summary>Embedding model ids.</summary>
    public string[] EmbeddingModels { get; set; } = ["all-minilm-l6-v2"];

    /// <summary>
    /// The <c>model</c> values /v1/moderations accepts (it may also be left out): OpenAI's names, which its clients
    /// send, and the safety app's own model. Safety answers all of them with its one model.
    /// </summary>
    [MinLength(1)]
    public string[] ModerationModels { get; set; } =
        ["omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest", "text-moderation-stable", "daprllm-safety-ngram"];

    /// <summary>"auto" moves up one model per this many estimated tokens (prompt + max tokens).</summary>
    [Range(1, 1_000_000)]
    public int AutoTokensPerStep { get; set; } = 2_048;

    [Range(1, 32_768)]
    public int DefaultMaxTokens { get; set; } = 64;

    [Range(1, 32_768)]
    public int MaxTokensLimit { get; set; } = 4_096;

    /// <summary>Largest request body accepted, in bytes.</summary>
    [Range(1_024, 64 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 1024 * 1024;

    /// <summary>Window policy: characters held back and checked together before release.</summary>
    [Range(8, 65_536)]
    public int ModerationWindowChars { get; set; } = 64;
}
