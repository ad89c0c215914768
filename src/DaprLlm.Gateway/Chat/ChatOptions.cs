using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Chat;

/// <summary>Chat completion settings (section "Chat"), validated at start.</summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>Model ids clients may ask for; the first is the default for "auto".</summary>
    [MinLength(1)]
    public string[] Models { get; set; } = ["daprllm-demo"];

    [Range(1, 32_768)]
    public int DefaultMaxTokens { get; set; } = 64;

    [Range(1, 32_768)]
    public int MaxTokensLimit { get; set; } = 4_096;

    /// <summary>Largest request body accepted, in bytes.</summary>
    [Range(1_024, 64 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 1024 * 1024;
}
