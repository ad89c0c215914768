namespace DaprLlm.Gateway.Chat;

/// <summary>
/// OpenAI's presence_penalty, frequency_penalty and logit_bias of one request, passed on to the inference app, which
/// applies them while sampling (logit_bias ids are the served model's own token ids, as on any OpenAI-compatible server).
/// </summary>
public sealed record SamplingControls(double? PresencePenalty, double? FrequencyPenalty, IReadOnlyDictionary<string, double>? LogitBias)
{
    public static readonly SamplingControls None = new(null, null, null);

    /// <summary>True when the request asks for nothing here (zero penalties, no bias): the common case, sent as nothing.</summary>
    public bool IsNone => (PresencePenalty ?? 0) == 0 && (FrequencyPenalty ?? 0) == 0 && LogitBias is not { Count: > 0 };

    public static SamplingControls From(ChatCompletionRequest request)
    {
        var controls = new SamplingControls(request.PresencePenalty, request.FrequencyPenalty, request.LogitBias);
        return controls.IsNone ? None : controls;
    }
}
