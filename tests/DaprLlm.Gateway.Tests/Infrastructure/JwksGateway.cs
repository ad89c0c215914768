namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>A single gateway that takes its JWT signing keys from a stub issuer's OpenID Connect metadata and JWKS.</summary>
public sealed class JwksGateway : SingleGateway
{
    public StubIssuer Issuer { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Jwt:Enabled"] = "true",
        ["Jwt:Authority"] = Issuer.BaseAddress, // the issuer ("iss") comes from its metadata
        ["Jwt:RequireHttpsMetadata"] = "false",
        ["Jwt:MetadataRefreshInterval"] = "00:00:01",
        ["Jwt:Audience"] = JwtGateway.Audience,
    };

    public override async ValueTask InitializeAsync()
    {
        await Issuer.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Issuer.DisposeAsync();
    }
}
