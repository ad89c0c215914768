using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Gateway.Upstream;

/// <summary>The safety app's moderation API.</summary>
public sealed class SafetyClient() : DaprAppClient(AppIds.Safety)
{
    public Task<ModerationVerdict> ModerateInputAsync(ModerationRequest request, CancellationToken cancellationToken) =>
        PostAsync<ModerationRequest, ModerationVerdict>(ServiceMethods.ModerateInput, request, cancellationToken);

    public Task<ModerationVerdict> ModerateOutputAsync(ModerationRequest request, CancellationToken cancellationToken) =>
        PostAsync<ModerationRequest, ModerationVerdict>(ServiceMethods.ModerateOutput, request, cancellationToken);
}
