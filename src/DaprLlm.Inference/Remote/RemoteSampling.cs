using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace DaprLlm.Inference.Remote;

/// <summary>OpenAI's penalties and logit bias for a remote model, which applies them itself.</summary>
public sealed record RemoteSampling(double? PresencePenalty, double? FrequencyPenalty, IReadOnlyDictionary<int, double>? LogitBias)
{
    public static readonly RemoteSampling None = new(null, null, null);

    /// <summary>Sets the controls on <paramref name="options"/>; logit_bias has no Microsoft.Extensions.AI field, so it goes on the OpenAI request itself.</summary>
    public void ApplyTo(ChatOptions options)
    {
        options.PresencePenalty = PresencePenalty is { } presence ? (float)presence : null;
        options.FrequencyPenalty = FrequencyPenalty is { } frequency ? (float)frequency : null;
        if (LogitBias is { Count: > 0 } bias)
        {
            options.RawRepresentationFactory = _ =>
            {
                var request = new ChatCompletionOptions();
                foreach (var (token, value) in bias)
                {
                    // OpenAI's wire format takes whole numbers in [-100, 100].
                    request.LogitBiases[token] = (int)Math.Round(value);
                }

                return request;
            };
        }
    }
}
