namespace DaprLlm.Safety.Review.Accounts;

/// <summary>OpenID Connect provider for reviewer sign-in; roles and tenants come from the named claims.</summary>
public sealed class ReviewOidcOptions
{
    public string Authority { get; set; } = "";

    public string ClientId { get; set; } = "";

    public string? ClientSecret { get; set; }

    public string RoleClaim { get; set; } = "roles";

    public string TenantClaim { get; set; } = "tenants";
}
