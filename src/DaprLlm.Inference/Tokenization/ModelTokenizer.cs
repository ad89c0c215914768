using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.Inference.Onnx;
using Microsoft.ML.Tokenizers;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer (GPT-2 / Qwen / Llama-3 style) built from an HF tokenizer.json's vocab and merges
/// with Microsoft.ML.Tokenizers. Special tokens are never produced from user text: the chat template inserts
/// them by id, so a prompt cannot forge a role marker.
/// </summary>
public sealed partial class ModelTokenizer
{
    // GPT-2's pre-tokenizer split (contractions, letters, digits, other, whitespace not followed by text).
    [GeneratedRegex(@"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();

    private readonly Tokenizer _bpe;
    private readonly byte[][] _tokenBytes;

    private ModelTokenizer(Tokenizer bpe, byte[][] tokenBytes, IReadOnlyDictionary<string, int> specialTokens)
    {
        _bpe = bpe;
        _tokenBytes = tokenBytes;
        SpecialTokens = specialTokens;
    }

    /// <summary>Added (special) tokens by content, e.g. &lt;|end|&gt;.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    public int VocabularySize => _tokenBytes.Length;

    public static ModelTokenizer Load(string folder)
    {
        var path = Path.Combine(folder, "tokenizer.json");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var model = doc.RootElement.GetProperty("model");
            if (model.GetProperty("type").GetString() != "BPE")
            {
                throw new ModelLoadException($"{path}: only BPE tokenizers are supported");
            }

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in model.GetProperty("vocab").EnumerateObject())
            {
                vocab[entry.Name] = entry.Value.GetInt32();
            }

            var specials = new Dictionary<string, int>(StringComparer.Ordinal);
            if (doc.RootElement.TryGetProperty("added_tokens", out var added))
            {
                foreach (var token in added.EnumerateArray())
                {
                    specials[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
                }
            }

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
                PreTokenizer = new RegexPreTokenizer(Gpt2Split(), null),
            });

            var size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), specials.Values.DefaultIfEmpty(-1).Max()) + 1;
            var tokenBytes = new byte[size][];
            var unicodeToByte = ByteLevel.UnicodeToByte();
            foreach (var (text, id) in vocab)
            {
                tokenBytes[id] = specials.ContainsKey(text) ? Encoding.UTF8.GetBytes(text) : ByteLevel.ToBytes(text, unicodeToByte);
            }

            foreach (var (text, id) in specials)
            {
                tokenBytes[id] = Encoding.UTF8.GetBytes(text);
            }

            for (var i = 0; i < size; i++)
            {
                tokenBytes[i] ??= [];
            }

            return new ModelTokenizer(bpe, tokenBytes, specials);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new ModelLoadException($"cannot load tokenizer {path}: {e.Message}", e);
        }
    }

    /// <summary>Token ids of plain text (special-token strings in it are tokenized as ordinary text).</summary>
    public IReadOnlyList<int> Encode(string text) => text.Length == 0 ? [] : _bpe.EncodeToIds(text);

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

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
