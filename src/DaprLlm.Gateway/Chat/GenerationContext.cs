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
    /// <summary>The model the client asked for (Model differs while a breaker routes to a fallback, or for "auto").</summary>
    public string RequestedModel { get; init; } = Model;

    public bool FallbackUsed { get; init; }

    /// <summary>Penalties and logit bias; <see cref="SamplingControls.None"/> for most requests.</summary>
    public SamplingControls Controls { get; init; } = SamplingControls.None;

    public string ApiVersion { get; init; } = "v1";

    /// <summary>Cache result for the audit events and the cache header; set as the request is served.</summary>
    public string Cache { get; set; } = DaprLlm.Contracts.Events.RequestReceivedV1.CacheResults.Bypass;

    public int CachedTokens { get; set; }

    /// <summary>The client's review webhook (X-Review-Webhook), called when a review opened by this request is decided.</summary>
    public Uri? ReviewWebhook { get; init; }

    /// <summary>The inference app id that answered.</summary>
    public string? Route { get; set; }

    /// <summary>The messages' text joined once (moderation and both audit events read it).</summary>
    public string Prompt => _prompt ??= JoinContents(Messages);

    private string? _prompt;

    private static string JoinContents(IReadOnlyList<DaprLlm.Contracts.Inference.ChatMessage> messages)
    {
        if (messages.Count == 1)
        {
            return messages[0].Content;
        }

        var parts = new string[messages.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = messages[i].Content;
        }

        return string.Join('\n', parts);
    }

    /// <summary>The estimate below over the messages' contents, without an enumerator or closure (every chat request).</summary>
    public static int EstimatePromptTokens(IReadOnlyList<DaprLlm.Contracts.Inference.ChatMessage> messages)
    {
        var chars = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            chars += messages[i].Content.Length;
        }

        return (chars / 4) + (4 * messages.Count) + 3;
    }

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
