using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.Inference.Onnx;
using Microsoft.ML.Tokenizers;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// The tokenizer of a model folder, through Microsoft.ML.Tokenizers: a byte-level BPE tokenizer.json (GPT-2, Qwen2.5,
/// Llama 3; the split regex and Unicode normalization are the ones the file declares) or, failing that, a SentencePiece
/// tokenizer.model (Llama 2, Phi-3; BPE with byte fallback), or the SentencePiece-style tokenizer.json of such a folder
/// without its tokenizer.model. Special tokens are never produced from user text: the chat template
/// inserts them by id, so a prompt cannot forge a role marker.
/// </summary>
public sealed partial class ModelTokenizer
{
    // GPT-2's pre-tokenizer split (contractions, letters, digits, other, whitespace not followed by text): what a
    // ByteLevel pre-tokenizer with use_regex applies.
    [GeneratedRegex(@"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();

    private readonly Func<string, IReadOnlyList<int>> _encode;
    private readonly byte[][] _tokenBytes;
    private readonly bool _stripDummyPrefix;

    private readonly IReadOnlyDictionary<string, int> _vocabulary;

    private ModelTokenizer(Func<string, IReadOnlyList<int>> encode, IReadOnlyDictionary<string, int> vocabulary, byte[][] tokenBytes,
        IReadOnlyDictionary<string, int> specialTokens, string kind, bool stripDummyPrefix)
    {
        _encode = encode;
        _vocabulary = vocabulary;
        _tokenBytes = tokenBytes;
        SpecialTokens = specialTokens;
        Kind = kind;
        _stripDummyPrefix = stripDummyPrefix;
    }

    /// <summary>Added (special) tokens by content, e.g. &lt;|end|&gt;.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    public int VocabularySize => _tokenBytes.Length;

    /// <summary>Which file and algorithm: "tokenizer.json byte-level BPE", "tokenizer.model SentencePiece" or
    /// "tokenizer.json SentencePiece-style BPE".</summary>
    public string Kind { get; }

    /// <summary>Whether decoded text drops one leading space (SentencePiece's dummy prefix), as <see cref="Decode"/> does.</summary>
    public bool DropsLeadingSpace => _stripDummyPrefix;

    /// <summary>The folder's tokenizer_config.json (chat_template, BOS/EOS tokens), or <see cref="TokenizerConfig.None"/>.</summary>
    public TokenizerConfig Config { get; private set; } = TokenizerConfig.None;

    public static ModelTokenizer Load(string folder)
    {
        var tokenizer = LoadTokenizer(folder);
        tokenizer.Config = TokenizerConfig.Load(folder);
        return tokenizer;
    }

    /// <summary>The id of a token by its text: a special token, else a vocabulary entry (SentencePiece's &lt;s&gt;, &lt;/s&gt;).</summary>
    public bool TryGetTokenId(string token, out int id) => SpecialTokens.TryGetValue(token, out id) || _vocabulary.TryGetValue(token, out id);

    private static ModelTokenizer LoadTokenizer(string folder)
    {
        var json = Path.Combine(folder, "tokenizer.json");
        var sentencePiece = Path.Combine(folder, "tokenizer.model");
        string? notByteLevel = null;
        if (File.Exists(json))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(json));
                if (IsByteLevelBpe(doc.RootElement))
                {
                    return LoadByteLevel(doc.RootElement);
                }

                // tokenizer.model is the original of a SentencePiece-style tokenizer.json, so it wins when both are there.
                if (!File.Exists(sentencePiece) && SentencePieceStyleBpe.Matches(doc.RootElement))
                {
                    return LoadSentencePieceStyle(doc.RootElement);
                }

                notByteLevel = $"{json} is not a byte-level BPE tokenizer";
            }
            catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
            {
                throw new ModelLoadException($"cannot load tokenizer {json}: {e.Message}", e);
            }
        }

        // Phi-3 and Llama-2 folders carry a SentencePiece-flavoured tokenizer.json too; its tokenizer.model is the original.
        if (File.Exists(sentencePiece))
        {
            return LoadSentencePiece(folder, sentencePiece);
        }

        throw new ModelLoadException(notByteLevel is null
            ? $"{folder} has neither tokenizer.json nor tokenizer.model"
            : $"{notByteLevel} and there is no tokenizer.model beside it");
    }

    private static bool IsByteLevelBpe(JsonElement root)
    {
        if (!root.TryGetProperty("model", out var model) || model.GetProperty("type").GetString() != "BPE")
        {
            return false;
        }

        return root.TryGetProperty("pre_tokenizer", out var pre) && Steps(pre).Any(p => p.GetProperty("type").GetString() == "ByteLevel");
    }

    // A pre-tokenizer is one step or a Sequence of steps.
    private static IEnumerable<JsonElement> Steps(JsonElement pre) =>
        pre.ValueKind != JsonValueKind.Object ? []
        : pre.GetProperty("type").GetString() == "Sequence" ? pre.GetProperty("pretokenizers").EnumerateArray()
        : [pre];

    /// <summary>The split the file declares: a Split step's regex (Llama 3, Qwen2.5) or GPT-2's for ByteLevel with use_regex.</summary>
    private static Regex SplitRegex(JsonElement root)
    {
        foreach (var step in Steps(root.GetProperty("pre_tokenizer")))
        {
            if (step.GetProperty("type").GetString() == "Split" && step.GetProperty("pattern").TryGetProperty("Regex", out var pattern))
            {
                return new Regex(pattern.GetString()!, RegexOptions.Compiled);
            }
        }

        return Gpt2Split();
    }

    private static ModelTokenizer LoadByteLevel(JsonElement root)
    {
        var model = root.GetProperty("model");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var specials = AddedTokens(root);

        // Newer tokenizer.json files store merges as ["a","b"] pairs, older ones as "a b" strings.
        var merges = new List<string>();
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
        }

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab.Where(kv => !specials.ContainsKey(kv.Key)))
        {
            Merges = merges,
            ByteLevel = true,
            Normalizer = UnicodeFormNormalizer.From(root),
            PreTokenizer = new RegexPreTokenizer(SplitRegex(root), null),
        });

        var size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), specials.Values.DefaultIfEmpty(-1).Max()) + 1;
        var tokenBytes = new byte[size][];
        var unicodeToByte = ByteLevel.UnicodeToByte();
        foreach (var (text, id) in vocab)
        {
            tokenBytes[id] = specials.ContainsKey(text) ? Encoding.UTF8.GetBytes(text) : ByteLevel.ToBytes(text, unicodeToByte);
        }

        return new ModelTokenizer(text => bpe.EncodeToIds(text), vocab, Complete(tokenBytes, specials), specials, "tokenizer.json byte-level BPE",
            stripDummyPrefix: false);
    }

    private static ModelTokenizer LoadSentencePiece(string folder, string path)
    {
        try
        {
            // Specials are kept out of the SentencePiece model so user text containing "<|end|>" stays text.
            SentencePieceTokenizer sp;
            using (var stream = File.OpenRead(path))
            {
                sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            }

            var specials = SentencePieceSpecials(folder);
            var size = Math.Max(sp.Vocabulary.Values.DefaultIfEmpty(-1).Max(), specials.Values.DefaultIfEmpty(-1).Max()) + 1;
            var tokenBytes = new byte[size][];
            foreach (var (piece, id) in sp.Vocabulary)
            {
                tokenBytes[id] = PieceBytes(sp, piece);
            }

            return new ModelTokenizer(text => sp.EncodeToIds(text), sp.Vocabulary, Complete(tokenBytes, specials), specials,
                "tokenizer.model SentencePiece", sp.AddDummyPrefix);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or
            FormatException)
        {
            throw new ModelLoadException($"cannot load tokenizer {path}: {e.Message}", e);
        }
    }

    private static ModelTokenizer LoadSentencePieceStyle(JsonElement root)
    {
        var specials = AddedTokens(root);
        var bpe = SentencePieceStyleBpe.Create(root, specials);
        var tokenBytes = new byte[Math.Max(bpe.Vocabulary.Values.Max(), specials.Values.DefaultIfEmpty(-1).Max()) + 1][];
        foreach (var (piece, id) in bpe.Vocabulary)
        {
            tokenBytes[id] = SentencePieceStyleBpe.PieceBytes(piece);
        }

        return new ModelTokenizer(bpe.Encode, bpe.Vocabulary, Complete(tokenBytes, specials), specials, "tokenizer.json SentencePiece-style BPE",
            stripDummyPrefix: true);
    }

    /// <summary>What a SentencePiece piece stands for: a byte-fallback byte, nothing for control tokens, else its text with ▁ as space.</summary>
    private static byte[] PieceBytes(SentencePieceTokenizer sp, string piece)
    {
        if (sp.ByteFallback && piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>')
        {
            return [byte.Parse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)];
        }

        if (piece == sp.BeginningOfSentenceToken || piece == sp.EndOfSentenceToken || piece == sp.UnknownToken)
        {
            return [];
        }

        return Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
    }

    /// <summary>Special tokens of a SentencePiece folder: tokenizer.json's added_tokens, else tokenizer_config.json's added_tokens_decoder.</summary>
    private static Dictionary<string, int> SentencePieceSpecials(string folder)
    {
        var json = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(json))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            return AddedTokens(doc.RootElement);
        }

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var config = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(config))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(config));
            if (doc.RootElement.TryGetProperty("added_tokens_decoder", out var added))
            {
                foreach (var entry in added.EnumerateObject())
                {
                    specials[entry.Value.GetProperty("content").GetString()!] = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        return specials;
    }

    private static Dictionary<string, int> AddedTokens(JsonElement root)
    {
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added))
        {
            foreach (var token in added.EnumerateArray())
            {
                specials[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
            }
        }

        return specials;
    }

    private static byte[][] Complete(byte[][] tokenBytes, Dictionary<string, int> specials)
    {
        foreach (var (text, id) in specials)
        {
            tokenBytes[id] = Encoding.UTF8.GetBytes(text);
        }

        for (var i = 0; i < tokenBytes.Length; i++)
        {
            tokenBytes[i] ??= [];
        }

        return tokenBytes;
    }

    /// <summary>Token ids of plain text (special-token strings in it are tokenized as ordinary text).</summary>
    public IReadOnlyList<int> Encode(string text) => text.Length == 0 ? [] : _encode(text);

    /// <summary>The UTF-8 bytes a token stands for (a token may hold part of a character).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => (uint)id < (uint)_tokenBytes.Length ? _tokenBytes[id] : [];

    /// <summary>Decodes a whole id sequence (tests and tools; the decode loop streams bytes through a UTF-8 decoder).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            bytes.AddRange(TokenBytes(id).ToArray());
        }

        var text = Encoding.UTF8.GetString(bytes.ToArray());

        // SentencePiece prefixes text with ▁ when encoding; its decoder drops that space again.
        return _stripDummyPrefix && text.StartsWith(' ') ? text[1..] : text;
    }
}
