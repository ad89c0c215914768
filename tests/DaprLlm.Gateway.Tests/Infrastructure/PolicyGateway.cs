namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway with a small moderation window and request-size limit, for the API and policy tests.</summary>
public sealed class PolicyGateway : SingleGateway
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Chat:ModerationWindowChars"] = "16",
        ["Chat:MaxRequestBytes"] = "4096",
        ["ReviewWebhooks:AllowPrivateNetworks"] = "false", // as shipped: the API tests check that internal webhook hosts are refused
    };
}
