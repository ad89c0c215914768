namespace DaprLlm.Safety.Review.Accounts;

/// <summary>Reviewer roles: reviewers decide the standard queue, seniors also the senior queue, admins everything.</summary>
public static class ReviewRoles
{
    public const string Reviewer = "reviewer";
    public const string Senior = "senior";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Reviewer, Senior, Admin];

    /// <summary>Claim type carrying one assigned tenant per claim ("*" for all).</summary>
    public const string TenantClaim = "daprllm:tenant";

    /// <summary>Claim marking a principal signed in through OIDC (its roles and tenants come from the provider).</summary>
    public const string SignInClaim = "daprllm:sign-in";

    public const string OidcSignIn = "oidc";
}
