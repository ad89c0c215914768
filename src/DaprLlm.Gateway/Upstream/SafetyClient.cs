using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Gateway.Upstream;

/// <summary>The safety app: moderation of inputs and outputs, OpenAI-shaped v1/moderations, review status.</summary>
public sealed class SafetyClient(IUpstreamChannels channels)
{
    public const string ModerationsMethod = "v1/moderations";
    public const string ReviewsPrefix = "reviews/";

    /// <summary>Names the tenant of an OpenAI moderations call (safety applies that tenant's policy).</summary>
    public const string TenantHeader = "x-tenant-id";

    public HttpClient Http => channels.For(AppIds.Safety);

    public Task<SafetyVerdict> ModerateInputAsync(ModerationRequest request, CancellationToken ct) =>
        UpstreamCall.PostAsync<ModerationRequest, SafetyVerdict>(Http, AppIds.Safety, ServiceMethods.ModerateInput, request, ct);

    public Task<SafetyVerdict> ModerateOutputAsync(ModerationRequest request, CancellationToken ct) =>
        UpstreamCall.PostAsync<ModerationRequest, SafetyVerdict>(Http, AppIds.Safety, ServiceMethods.ModerateOutput, request, ct);

    /// <summary>One window of a streamed answer: no review item is opened (a stream cannot wait for a human).</summary>
    public Task<SafetyVerdict> ModerateOutputWindowAsync(ModerationRequest request, CancellationToken ct) =>
        UpstreamCall.PostAsync<ModerationRequest, SafetyVerdict>(Http, AppIds.Safety, ServiceMethods.ModerateOutputWindow, request, ct);
}

/// <summary>
/// The safety app's verdict as the gateway reads it: the contract's fields plus the optional review id the
/// safety app adds when it routes an item to human review.
/// </summary>
public sealed record SafetyVerdict(string Decision, IReadOnlyList<string> Reasons, string PolicyVersion, string? ReviewId = null)
{
    public bool IsAllowed => Decision == ModerationVerdict.Decisions.Allow;

    public bool IsReview => Decision == ModerationVerdict.Decisions.Review;
}
