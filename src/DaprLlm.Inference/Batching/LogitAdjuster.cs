using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// OpenAI's logit_bias, presence_penalty and frequency_penalty for one generation. Applied to a copy of each step's
/// logits before sampling; counts the tokens this generation has produced, since both penalties are about them
/// (presence: once per token that appeared, frequency: once per occurrence). Owned by the decode thread of its row.
/// </summary>
public sealed class LogitAdjuster
{
    private readonly (int Token, float Bias)[] _bias;
    private readonly float _presence;
    private readonly float _frequency;
    private readonly Dictionary<int, int> _counts = [];

    private LogitAdjuster((int Token, float Bias)[] bias, float presence, float frequency)
    {
        _bias = bias;
        _presence = presence;
        _frequency = frequency;
    }

    /// <summary>An adjuster for the request's controls, or null when they ask for nothing (the common case costs nothing).</summary>
    public static LogitAdjuster? For(double? presencePenalty, double? frequencyPenalty, IReadOnlyDictionary<int, double>? logitBias)
    {
        var presence = (float)(presencePenalty ?? 0);
        var frequency = (float)(frequencyPenalty ?? 0);
        var bias = logitBias?.Where(b => b.Value != 0).Select(b => (b.Key, (float)b.Value)).ToArray() ?? [];
        return presence == 0 && frequency == 0 && bias.Length == 0 ? null : new LogitAdjuster(bias, presence, frequency);
    }

    /// <summary>Parses a validated logit_bias (<see cref="SamplingLimits.Check"/>) into token ids; null when absent.</summary>
    public static IReadOnlyDictionary<int, double>? ParseBias(IReadOnlyDictionary<string, double>? logitBias) =>
        logitBias?.ToDictionary(b => SamplingLimits.TryParseTokenId(b.Key, out var id) ? id : throw new ArgumentException($"'{b.Key}' is not a token id"), b => b.Value);

    /// <summary>The logits with the bias and penalties applied, written to <paramref name="adjusted"/>.</summary>
    public ReadOnlySpan<float> Apply(ReadOnlySpan<float> logits, Span<float> adjusted)
    {
        logits.CopyTo(adjusted);
        foreach (var (token, bias) in _bias)
        {
            adjusted[token] += bias;
        }

        foreach (var (token, count) in _counts)
        {
            adjusted[token] -= _presence + (_frequency * count);
        }

        return adjusted;
    }

    /// <summary>Records a sampled token for the penalties.</summary>
    public void Accepted(int token) => _counts[token] = _counts.GetValueOrDefault(token) + 1;
}
