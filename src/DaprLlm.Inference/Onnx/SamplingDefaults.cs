using System.Text.Json;

namespace DaprLlm.Inference.Onnx;

/// <summary>
/// The top_p / top_k a model's folder recommends for requests that do not set them: genai_config.json's "search"
/// section when it asks for sampling ("do_sample": true), as Hugging Face's generation_config and vLLM apply a model's
/// own defaults. A config without it ("do_sample": false, ORT GenAI's greedy default, e.g. Phi-3's top_k 1) leaves the
/// OpenAI defaults (top_p 1, no top-k), so a client's temperature keeps its meaning. Temperature always comes from the
/// request (the OpenAI API's default is 1).
/// </summary>
public sealed record SamplingDefaults(double TopP, int TopK)
{
    public static readonly SamplingDefaults OpenAi = new(1.0, 0);

    /// <summary>Reads the "search" section of genai_config.json; a value out of range fails the load naming it.</summary>
    public static SamplingDefaults From(JsonElement root, string path)
    {
        if (!root.TryGetProperty("search", out var search) || !search.TryGetProperty("do_sample", out var sample) || !sample.GetBoolean())
        {
            return OpenAi;
        }

        var topP = search.TryGetProperty("top_p", out var p) ? p.GetDouble() : 1.0;
        var topK = search.TryGetProperty("top_k", out var k) ? k.GetInt32() : 0;
        if (double.IsNaN(topP) || topP is <= 0 or > 1 || topK < 0)
        {
            throw new ModelLoadException($"{path}: search.top_p must be in (0, 1] and search.top_k at least 0 (0 = no top-k)");
        }

        return new SamplingDefaults(topP, topK);
    }
}
