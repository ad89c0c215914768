using System.Text.Json;

namespace DaprLlm.Inference.Onnx;

/// <summary>
/// What the decode loop needs from an ORT GenAI model folder's genai_config.json (decoder names, head counts,
/// context length, end-of-sequence ids), so any llama-layout folder runs through the same code.
/// </summary>
public sealed record GenAiConfig(
    string ModelFile,
    int ContextLength,
    int Layers,
    int KvHeads,
    int HeadSize,
    int VocabSize,
    IReadOnlyList<int> EosTokenIds,
    string InputIds,
    string AttentionMask,
    string PositionIds,
    string PastKeyFormat,
    string PastValueFormat,
    string Logits,
    string PresentKeyFormat,
    string PresentValueFormat,
    SamplingDefaults Sampling)
{
    public string PastKey(int layer) => PastKeyFormat.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public string PastValue(int layer) => PastValueFormat.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public string PresentKey(int layer) => PresentKeyFormat.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public string PresentValue(int layer) => PresentValueFormat.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Reads genai_config.json; throws <see cref="ModelLoadException"/> naming the missing field.</summary>
    public static GenAiConfig Load(string folder)
    {
        var path = Path.Combine(folder, "genai_config.json");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"cannot read {path}: {e.Message}", e);
        }

        using (doc)
        {
            try
            {
                var model = doc.RootElement.GetProperty("model");
                var decoder = model.GetProperty("decoder");
                var inputs = decoder.GetProperty("inputs");
                var outputs = decoder.GetProperty("outputs");
                var eos = model.GetProperty("eos_token_id");
                var eosIds = eos.ValueKind == JsonValueKind.Array ? eos.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [eos.GetInt32()];
                var heads = decoder.GetProperty("num_attention_heads").GetInt32();
                var kvHeads = decoder.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads;
                var headSize = decoder.TryGetProperty("head_size", out var hs) ? hs.GetInt32() : decoder.GetProperty("hidden_size").GetInt32() / heads;
                return new GenAiConfig(
                    decoder.GetProperty("filename").GetString()!,
                    model.GetProperty("context_length").GetInt32(),
                    decoder.GetProperty("num_hidden_layers").GetInt32(),
                    kvHeads,
                    headSize,
                    model.GetProperty("vocab_size").GetInt32(),
                    eosIds,
                    Name(inputs, "input_ids", "input_ids"),
                    Name(inputs, "attention_mask", "attention_mask"),
                    Name(inputs, "position_ids", "position_ids"),
                    Name(inputs, "past_key_names", "past_key_values.%d.key"),
                    Name(inputs, "past_value_names", "past_key_values.%d.value"),
                    Name(outputs, "logits", "logits"),
                    Name(outputs, "present_key_names", "present.%d.key"),
                    Name(outputs, "present_value_names", "present.%d.value"),
                    SamplingDefaults.From(doc.RootElement, path));
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new ModelLoadException($"{path} is not an ORT GenAI decoder config: {e.Message}", e);
            }
        }
    }

    private static string Name(JsonElement section, string key, string fallback) =>
        section.TryGetProperty(key, out var value) ? value.GetString() ?? fallback : fallback;
}
