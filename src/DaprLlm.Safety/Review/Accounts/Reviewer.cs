using System.Security.Claims;

namespace DaprLlm.Safety.Review.Accounts;

/// <summary>The signed-in reviewer as the review service sees it: name, roles and assigned tenants.</summary>
public sealed record Reviewer(string Name, IReadOnlySet<string> Roles, IReadOnlySet<string> Tenants)
{
    public bool IsAdmin => Roles.Contains(ReviewRoles.Admin);

    public bool IsSenior => IsAdmin || Roles.Contains(ReviewRoles.Senior);

    public bool IsReviewer => IsSenior || Roles.Contains(ReviewRoles.Reviewer);

    public bool CanSeeTenant(string tenant) => Tenants.Contains("*") || Tenants.Contains(tenant);

    /// <summary>Standard items need the reviewer role, escalated (senior queue) items senior or admin.</summary>
    public bool CanWorkQueue(string queue) => queue == ReviewStatuses.SeniorQueue ? IsSenior : IsReviewer;

    public bool CanWork(ReviewItem item) => CanSeeTenant(item.TenantId) && CanWorkQueue(item.Queue);

    public static Reviewer FromPrincipal(ClaimsPrincipal principal) => new(
        principal.Identity?.Name ?? throw new InvalidOperationException("the principal has no name"),
        principal.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal),
        principal.FindAll(ReviewRoles.TenantClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal));
}
