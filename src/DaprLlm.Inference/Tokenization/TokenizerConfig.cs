using System.Text.Json;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// What a folder's tokenizer_config.json says about chat: its chat_template (Jinja source, only inspected, never run) and
/// the BOS/EOS token strings. Formats without role tokens (Llama 2, Mistral) are recognised by it.
/// </summary>
public sealed record TokenizerConfig(string? ChatTemplate, string? BosToken, string? EosToken)
{
    public static readonly TokenizerConfig None = new(null, null, null);

    public static TokenizerConfig Load(string folder)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path))
        {
            return None;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            return root.ValueKind != JsonValueKind.Object ? None : new(Template(root), Token(root, "bos_token"), Token(root, "eos_token"));
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ModelLoadException($"cannot read {path}: {e.Message}", e);
        }
    }

    // A string, or (newer files) a list of named templates of which "default" is the chat one.
    private static string? Template(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var template))
        {
            return null;
        }

        if (template.ValueKind == JsonValueKind.String)
        {
            return template.GetString();
        }

        return template.ValueKind != JsonValueKind.Array ? null
            : template.EnumerateArray().Where(t => t.TryGetProperty("name", out var n) && n.GetString() == "default")
                .Select(t => t.GetProperty("template").GetString()).FirstOrDefault();
    }

    // A string, or (older files) an AddedToken object with its text in "content".
    private static string? Token(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var token) ? null
        : token.ValueKind == JsonValueKind.String ? token.GetString()
        : token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var content) ? content.GetString()
        : null;
}
