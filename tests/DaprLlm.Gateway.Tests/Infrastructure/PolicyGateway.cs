namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway with a small moderation window and request-size limit, for the API and policy tests.</summary>
public sealed class PolicyGateway : SingleGateway
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Chat:ModerationWindowChars"] = "16",
        ["Chat:Models:2"] = "org/daprllm-slashed", // an id with a slash, as hub-style names have
        ["Chat:MaxRequestBytes"] = "4096",
        ["ReviewWebhooks:AllowPrivateNetworks"] = "false", // as shipped: the API tests check that internal webhook hosts are refused

        // A version past its sunset, switched off, and a new one added by configuration.
        ["ApiVersions:Versions:v0:SunsetAt"] = "2026-06-30T00:00:00Z",
        ["ApiVersions:Versions:v0:Retired"] = "true",
        ["ApiVersions:Versions:v3:Retired"] = "false",
    };
}
