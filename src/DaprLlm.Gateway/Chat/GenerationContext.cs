using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Quotas;

namespace DaprLlm.Gateway.Chat;

/// <summary>Everything one admitted generation request carries through the pipeline.</summary>
public sealed record GenerationContext(
    string RequestId,
    Caller Caller,
    string Model,
    IReadOnlyList<DaprLlm.Contracts.Inference.ChatMessage> Messages,
    int MaxTokens,
    double Temperature,
    int? Seed,
    double? TopP,
    IReadOnlyList<string>? Stop,
    string? User,
    string StreamingPolicy,
    int EstimatedPromptTokens,
    QuotaTicket Ticket)
{
    public string Prompt => string.Join("\n", Messages.Select(m => m.Content));

    /// <summary>A rough count before inference reports the real one: about four characters per token plus framing.</summary>
    public static int EstimatePromptTokens(IEnumerable<string> texts)
    {
        var chars = 0;
        var count = 0;
        foreach (var t in texts)
        {
            chars += t.Length;
            count++;
        }

        return (chars / 4) + (4 * count) + 3;
    }
}
