using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>
/// The real tokenizer files of TestData/RealTokenizers/&lt;model&gt; with their golden ids (tools/tokenizer-golden).
/// tokenizer.json is stored brotli-compressed to keep the repository small; it is unpacked into a temporary folder,
/// loaded the way a dropped-in model folder is, and the folder removed again.
/// </summary>
public static class RealTokenizers
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestData", "RealTokenizers");

    /// <summary>The committed model folders and the tokenizer kind each must load as.</summary>
    public static readonly IReadOnlyDictionary<string, string> Models = new Dictionary<string, string>
    {
        ["qwen2_5"] = "tokenizer.json byte-level BPE",
        ["mistral_nemo"] = "tokenizer.json byte-level BPE",
        ["mistral_7b"] = "tokenizer.json SentencePiece-style BPE",
    };

    private static readonly ConcurrentDictionary<string, Lazy<ModelTokenizer>> Tokenizers = new();
    private static readonly ConcurrentDictionary<string, Lazy<Golden>> Goldens = new();

    private static string Folder(string model) => Path.Combine(Root, model);

    public static ModelTokenizer Tokenizer(string model) => Tokenizers.GetOrAdd(model, m => new(() => Load(m))).Value;

    public static Golden GoldenOf(string model) => Goldens.GetOrAdd(model, m => new(() =>
        JsonSerializer.Deserialize<Golden>(File.ReadAllText(Path.Combine(Folder(m), "golden.json")))
        ?? throw new InvalidDataException($"empty golden.json for {m}"))).Value;

    private static ModelTokenizer Load(string model)
    {
        using var unpacked = new TempFolder("daprllm-realtok");
        foreach (var file in Directory.EnumerateFiles(Folder(model)))
        {
            var name = Path.GetFileName(file);
            if (name == "golden.json" || name.EndsWith(".md", StringComparison.Ordinal))
            {
                continue;
            }

            if (name.EndsWith(".br", StringComparison.Ordinal))
            {
                using var source = new BrotliStream(File.OpenRead(file), CompressionMode.Decompress);
                using var target = File.Create(Path.Combine(unpacked.Path, name[..^3]));
                source.CopyTo(target);
            }
            else
            {
                File.Copy(file, Path.Combine(unpacked.Path, name));
            }
        }

        return ModelTokenizer.Load(unpacked.Path);
    }
}

/// <summary>golden.json: what the reference implementation made of each text.</summary>
public sealed record Golden(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("specialsAddedByReference")] SpecialsAdded SpecialsAddedByReference,
    [property: JsonPropertyName("cases")] IReadOnlyList<GoldenCase> Cases);

/// <summary>The ids the reference puts around a text when asked to add special tokens (BOS for Mistral).</summary>
public sealed record SpecialsAdded(
    [property: JsonPropertyName("prefix")] IReadOnlyList<int> Prefix,
    [property: JsonPropertyName("suffix")] IReadOnlyList<int> Suffix);

/// <summary>
/// One text: its ids with special-token text kept as text, the reference's decode of them, and (only where they
/// differ) the ids a tokenizer that parses special tokens in user text would produce.
/// </summary>
public sealed record GoldenCase(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("ids")] IReadOnlyList<int> Ids,
    [property: JsonPropertyName("decoded")] string Decoded,
    [property: JsonPropertyName("idsParsingSpecialTokens")] IReadOnlyList<int>? IdsParsingSpecialTokens);
