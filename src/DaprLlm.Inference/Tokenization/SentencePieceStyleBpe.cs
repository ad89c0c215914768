using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// The SentencePiece-style tokenizer.json of Llama 2, Mistral 7B and Phi-3 folders, for when no tokenizer.model lies
/// beside it: spaces become ▁ and one ▁ is prepended (the file's Prepend + Replace normalizer), the whole text is one
/// BPE word merged in the file's merge order (Microsoft.ML.Tokenizers' BPE, a port of Hugging Face's), and a character
/// missing from the vocabulary falls back to its UTF-8 bytes as &lt;0xXX&gt; pieces. Such byte pieces sit in no merge,
/// so the text between two unknown characters is merged on its own.
/// </summary>
internal sealed partial class SentencePieceStyleBpe
{
    private const char Space = '\u2581';

    // The whole (normalized) segment is one word: the files declare no pre-tokenizer.
    [GeneratedRegex(@"[\s\S]+")]
    private static partial Regex WholeText();

    private readonly BpeTokenizer _bpe;
    private readonly HashSet<int> _knownCharacters;
    private readonly int[] _byteIds;

    private SentencePieceStyleBpe(BpeTokenizer bpe, IReadOnlyDictionary<string, int> vocabulary, HashSet<int> knownCharacters, int[] byteIds)
    {
        _bpe = bpe;
        Vocabulary = vocabulary;
        _knownCharacters = knownCharacters;
        _byteIds = byteIds;
    }

    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>Whether the file is BPE with byte fallback (the SentencePiece kind; byte-level files have none).</summary>
    public static bool Matches(JsonElement root) =>
        root.TryGetProperty("model", out var model) && model.GetProperty("type").GetString() == "BPE"
        && model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;

    /// <summary>Loads the file; throws when its whitespace handling is not the Llama 2 / Phi-3 one this class applies.</summary>
    public static SentencePieceStyleBpe Create(JsonElement root, IReadOnlyDictionary<string, int> specials)
    {
        RequirePrependAndReplace(root);
        var model = root.GetProperty("model");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var merges = new List<string>();
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
        }

        var byteIds = new int[256];
        for (var b = 0; b < 256; b++)
        {
            byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out var id)
                ? id
                : throw new InvalidOperationException($"byte fallback piece <0x{b:X2}> is missing");
        }

        // Single-character pieces, by code point: a character outside them takes the byte fallback.
        var known = new HashSet<int>();
        foreach (var piece in vocab.Keys)
        {
            if (piece.Length <= 2 && Rune.TryGetRuneAt(piece, 0, out var rune) && rune.Utf16SequenceLength == piece.Length
                && !specials.ContainsKey(piece))
            {
                known.Add(rune.Value);
            }
        }

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab.Where(kv => !specials.ContainsKey(kv.Key)))
        {
            Merges = merges,
            PreTokenizer = new RegexPreTokenizer(WholeText(), null),
        });
        return new SentencePieceStyleBpe(bpe, vocab, known, byteIds);
    }

    public IReadOnlyList<int> Encode(string text)
    {
        var normalized = Space + text.Replace(' ', Space);
        var ids = new List<int>();
        var segmentStart = 0;
        var i = 0;
        Span<byte> utf8 = stackalloc byte[4];
        while (i < normalized.Length)
        {
            // A lone surrogate is no character: it falls back to the bytes of U+FFFD, as UTF-8 encoding would.
            var length = 1;
            var rune = Rune.ReplacementChar;
            if (Rune.TryGetRuneAt(normalized, i, out var read))
            {
                rune = read;
                length = read.Utf16SequenceLength;
            }

            if (!_knownCharacters.Contains(rune.Value))
            {
                AddMerged(normalized.AsSpan(segmentStart, i - segmentStart), ids);
                var count = rune.EncodeToUtf8(utf8);
                for (var b = 0; b < count; b++)
                {
                    ids.Add(_byteIds[utf8[b]]);
                }

                segmentStart = i + length;
            }

            i += length;
        }

        AddMerged(normalized.AsSpan(segmentStart), ids);
        return ids;
    }

    private void AddMerged(ReadOnlySpan<char> segment, List<int> ids)
    {
        if (!segment.IsEmpty)
        {
            ids.AddRange(_bpe.EncodeToIds(segment));
        }
    }

    /// <summary>What a piece stands for: a fallback byte, else its text with ▁ as a space.</summary>
    public static byte[] PieceBytes(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)
            ? [b]
            : Encoding.UTF8.GetBytes(piece.Replace(Space, ' '));

    // Llama 2 / Mistral 7B / Phi-3 files: normalizer Sequence[Prepend "▁", Replace " " -> "▁"] and no pre-tokenizer.
    // Newer files (Metaspace pre-tokenizer, prepend only where no ▁ is) would need other handling: refuse them.
    private static void RequirePrependAndReplace(JsonElement root)
    {
        var steps = root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object
            && n.GetProperty("type").GetString() == "Sequence" ? n.GetProperty("normalizers").EnumerateArray().ToList() : [];
        var space = Space.ToString();
        var supported = steps.Count == 2
            && steps[0].GetProperty("type").GetString() == "Prepend" && steps[0].GetProperty("prepend").GetString() == space
            && steps[1].GetProperty("type").GetString() == "Replace" && steps[1].GetProperty("pattern").TryGetProperty("String", out var from)
            && from.GetString() == " " && steps[1].GetProperty("content").GetString() == space
            && (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null);
        if (!supported)
        {
            throw new InvalidOperationException("only the Prepend(▁) + Replace(' ' -> ▁) normalizer of Llama 2 / Phi-3 SentencePiece-style " +
                "tokenizer.json files is supported; add the folder's tokenizer.model");
        }
    }
}
