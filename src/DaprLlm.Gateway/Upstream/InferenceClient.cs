using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Gateway.Upstream;

/// <summary>The inference app's generation API.</summary>
public sealed class InferenceClient() : DaprAppClient(AppIds.Inference)
{
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken) =>
        PostAsync<GenerationRequest, GenerationResult>(ServiceMethods.Generate, request, cancellationToken);
}
