using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// A tokenizer.json normalizer of Unicode-form steps (Qwen2 and Qwen2.5 declare NFC): without it, text typed with
/// combining accents (e + U+0301) is split into other tokens than the model was trained on.
/// </summary>
internal sealed class UnicodeFormNormalizer(IReadOnlyList<NormalizationForm> forms) : Normalizer
{
    public IReadOnlyList<NormalizationForm> Forms { get; } = forms;

    public override string Normalize(string original)
    {
        var text = original;
        foreach (var form in Forms)
        {
            text = text.Normalize(form);
        }

        return text;
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary>
    /// The normalizer a tokenizer.json declares: none, or NFC / NFD / NFKC / NFKD steps (alone or in a Sequence).
    /// Any other step throws: silently skipping it would encode text differently from the model's training.
    /// </summary>
    public static UnicodeFormNormalizer? From(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var forms = new List<NormalizationForm>();
        Collect(normalizer, forms);
        return forms.Count == 0 ? null : new UnicodeFormNormalizer(forms);
    }

    private static void Collect(JsonElement step, List<NormalizationForm> forms)
    {
        var type = step.GetProperty("type").GetString();
        switch (type)
        {
            case "Sequence":
                foreach (var inner in step.GetProperty("normalizers").EnumerateArray())
                {
                    Collect(inner, forms);
                }

                break;
            case "NFC":
                forms.Add(NormalizationForm.FormC);
                break;
            case "NFD":
                forms.Add(NormalizationForm.FormD);
                break;
            case "NFKC":
                forms.Add(NormalizationForm.FormKC);
                break;
            case "NFKD":
                forms.Add(NormalizationForm.FormKD);
                break;
            default:
                throw new InvalidOperationException($"normalizer '{type}' is not supported for byte-level BPE");
        }
    }
}
