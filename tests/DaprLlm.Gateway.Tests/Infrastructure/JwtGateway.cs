namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway that also accepts JWTs from a test issuer signed with a locally generated HMAC key.</summary>
public sealed class JwtGateway : SingleGateway
{
    public const string Issuer = "https://issuer.test.local";
    public const string Audience = "daprllm-gateway";

    public byte[] SigningKey { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Jwt:Enabled"] = "true",
        ["Jwt:Issuer"] = Issuer,
        ["Jwt:Audience"] = Audience,
        ["Jwt:SigningKeys:0"] = "base64:" + Convert.ToBase64String(SigningKey),
        ["Logging:LogLevel:DaprLlm.Gateway.Auth.JwtAuthenticator"] = "Debug",
    };
}
