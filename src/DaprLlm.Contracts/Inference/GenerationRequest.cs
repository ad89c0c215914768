namespace DaprLlm.Contracts.Inference;

/// <summary>What the gateway asks the inference app to generate (POST v1/generate and v1/generate/stream).</summary>
/// <remarks>
/// Temperature 0 means greedy decoding; the same seed and input give the same output whatever else runs.
/// The penalties and the logit bias are OpenAI's: penalties in [-2, 2] lower the logits of tokens already generated
/// (presence once, frequency per occurrence); <see cref="LogitBias"/> adds a value in [-100, 100] to the logit of a
/// token id of the served model's own tokenizer (-100 bans it, 100 forces it).
/// </remarks>
public sealed record GenerationRequest(
    string RequestId,
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int MaxTokens,
    double Temperature,
    int? Seed,
    double? TopP = null,
    int? TopK = null,
    IReadOnlyList<string>? Stop = null,
    double? PresencePenalty = null,
    double? FrequencyPenalty = null,
    IReadOnlyDictionary<string, double>? LogitBias = null);

/// <summary>Limits of the OpenAI sampling controls, enforced by both the gateway and the inference app.</summary>
public static class SamplingLimits
{
    public const double MaxPenalty = 2.0;

    public const double MaxLogitBias = 100.0;

    /// <summary>The most token ids one logit_bias may name.</summary>
    public const int MaxLogitBiasEntries = 300;

    /// <summary>
    /// Checks OpenAI's sampling controls; returns the offending parameter and a message, or null when all are valid.
    /// Token ids are checked for form here; each model checks them against its own vocabulary.
    /// </summary>
    public static (string Param, string Message)? Check(double? presencePenalty, double? frequencyPenalty, IReadOnlyDictionary<string, double>? logitBias)
    {
        if (presencePenalty is { } presence && (double.IsNaN(presence) || Math.Abs(presence) > MaxPenalty))
        {
            return ("presence_penalty", $"presence_penalty must be between -{MaxPenalty} and {MaxPenalty}");
        }

        if (frequencyPenalty is { } frequency && (double.IsNaN(frequency) || Math.Abs(frequency) > MaxPenalty))
        {
            return ("frequency_penalty", $"frequency_penalty must be between -{MaxPenalty} and {MaxPenalty}");
        }

        if (logitBias is null)
        {
            return null;
        }

        if (logitBias.Count > MaxLogitBiasEntries)
        {
            return ("logit_bias", $"logit_bias may name at most {MaxLogitBiasEntries} tokens");
        }

        foreach (var (token, bias) in logitBias)
        {
            if (!TryParseTokenId(token, out _))
            {
                return ("logit_bias", $"logit_bias keys must be token ids (non-negative integers); '{Shorten(token)}' is not");
            }

            if (double.IsNaN(bias) || Math.Abs(bias) > MaxLogitBias)
            {
                return ("logit_bias", $"logit_bias values must be between -{MaxLogitBias} and {MaxLogitBias}; token {token} has {bias}");
            }
        }

        return null;
    }

    /// <summary>A token id written the one way ("7", not "07"), so two keys never name the same token.</summary>
    public static bool TryParseTokenId(string text, out int id) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out id)
        && (text.Length == 1 || text[0] != '0');

    private static string Shorten(string text) => text.Length <= 32 ? text : text[..32] + "…";
}
