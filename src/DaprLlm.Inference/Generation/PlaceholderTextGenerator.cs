using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Generation;

/// <summary>
/// PLACEHOLDER until the ONNX demo model lands (inference issue): a deterministic generator that writes
/// words drawn from a fixed vocabulary, seeded by the prompt (and the request seed), so the whole request path
/// can be exercised end to end. Tokens are whitespace-separated words. It is not a language model.
/// </summary>
public sealed class PlaceholderTextGenerator : ITextGenerator
{
    private static readonly string[] Vocabulary =
    [
        "the", "a", "model", "answer", "is", "placeholder", "text", "from", "DaprLlm", "and", "it", "will", "be",
        "replaced", "by", "an", "ONNX", "model", "soon", "request", "flows", "through", "every", "sidecar",
    ];

    public GenerationResult Generate(GenerationRequest request)
    {
        var prompt = string.Join(" ", request.Messages.Select(m => m.Content));
        var promptTokens = prompt.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        var seed = StableHash(prompt) ^ (request.Seed ?? 0);
        var random = new Random(seed);
        var wanted = Math.Min(request.MaxTokens, 12 + random.Next(12));
        var words = Enumerable.Range(0, wanted).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]).ToArray();
        var finish = wanted == request.MaxTokens ? "length" : "stop";
        return new GenerationResult(request.Model, string.Join(' ', words) + (finish == "stop" ? "." : ""), promptTokens, words.Length, finish);
    }

    // string.GetHashCode is randomised per process; generation must be reproducible across restarts.
    private static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }
}
