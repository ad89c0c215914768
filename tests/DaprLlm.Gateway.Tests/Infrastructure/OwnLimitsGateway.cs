namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway whose pro tier allows a key few tokens a minute (2,000 + 400 burst), below what a chat request may ask.</summary>
public sealed class OwnLimitsGateway : SingleGateway
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Quotas:Tiers:pro:TokensPerMinute"] = "2000",
        ["Quotas:Tiers:pro:BurstTokens"] = "400",
    };
}
