namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway with the semantic cache on, embedding prompts with the fake bag-of-words model.</summary>
public sealed class SemanticGateway : SingleGateway
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["SemanticCache:Enabled"] = "true",
        ["SemanticCache:EmbeddingModel"] = FakeBackend.SemanticModel,
        ["SemanticCache:Threshold"] = "0.9",
    };
}
