using System.Security.Claims;
using Dapr.Client;
using DaprLlm.Contracts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review.Accounts;

/// <summary>
/// The seeded reviewer accounts: verifies passwords against PBKDF2 hashes (Identity's PasswordHasher) and builds
/// the principal. Tenant assignments start from configuration; an admin's change is kept in Dapr state and wins.
/// </summary>
public sealed class ReviewerDirectory
{
    private const string TenantKeyPrefix = "reviewer-tenants|";
    private static readonly object User = new();
    private readonly PasswordHasher<object> _hasher = new();
    private readonly Dictionary<string, (string Hash, ReviewerAccountOptions Account)> _accounts;
    private readonly DaprClient _dapr;

    public ReviewerDirectory(IOptions<ReviewOptions> options, DaprClient dapr)
    {
        _dapr = dapr;
        // Clear dev passwords are hashed once here, so only hashes stay in memory.
        _accounts = options.Value.Accounts.ToDictionary(
            a => a.UserName,
            a => (a.PasswordHash ?? _hasher.HashPassword(User, a.Password!), a),
            StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<string> UserNames => _accounts.Keys.Order(StringComparer.Ordinal);

    /// <summary>The principal of a reviewer whose password matches; null otherwise (same answer for unknown names).</summary>
    public async Task<ClaimsPrincipal?> SignInAsync(string userName, string password, string authenticationType, CancellationToken cancellationToken)
    {
        if (!_accounts.TryGetValue(userName, out var entry))
        {
            // Hash anyway so an unknown name takes as long as a wrong password.
            _hasher.VerifyHashedPassword(User, _accounts.Values.FirstOrDefault().Hash ?? _hasher.HashPassword(User, "x"), password);
            return null;
        }

        if (_hasher.VerifyHashedPassword(User, entry.Hash, password) == PasswordVerificationResult.Failed)
        {
            return null;
        }

        var tenants = await GetTenantsAsync(entry.Account.UserName, cancellationToken);
        var claims = new List<Claim> { new(ClaimTypes.Name, entry.Account.UserName) };
        claims.AddRange(entry.Account.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(tenants.Select(t => new Claim(ReviewRoles.TenantClaim, t)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>
    /// The reviewer as the directory knows them now. A session lives for hours, and an admin's change to a seeded
    /// account's tenants (or its removal from configuration) must apply to it at once, not at the next sign-in; so
    /// pages ask for this before each load and action instead of trusting the cookie's claims. OIDC reviewers keep
    /// the provider's claims: it is the authority on their roles and tenants.
    /// </summary>
    public async Task<Reviewer> CurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        var signedIn = Reviewer.FromPrincipal(principal);
        if (principal.HasClaim(ReviewRoles.SignInClaim, ReviewRoles.OidcSignIn))
        {
            return signedIn;
        }

        if (!_accounts.TryGetValue(signedIn.Name, out var entry))
        {
            // Removed from configuration since signing in: no roles, no tenants.
            return new Reviewer(signedIn.Name, new HashSet<string>(), new HashSet<string>());
        }

        var tenants = await GetTenantsAsync(entry.Account.UserName, cancellationToken);
        return new Reviewer(entry.Account.UserName, entry.Account.Roles.ToHashSet(StringComparer.Ordinal), tenants.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>False for a password session whose account no longer exists (the cookie is then rejected).</summary>
    public bool IsStillValid(ClaimsPrincipal principal) =>
        principal.HasClaim(ReviewRoles.SignInClaim, ReviewRoles.OidcSignIn) || (principal.Identity?.Name is { } name && _accounts.ContainsKey(name));

    public async Task<IReadOnlyList<string>> GetTenantsAsync(string userName, CancellationToken cancellationToken)
    {
        var stored = await _dapr.GetStateAsync<List<string>?>(DaprComponents.StateStore, TenantKeyPrefix + userName.ToLowerInvariant(), cancellationToken: cancellationToken);
        return stored ?? (_accounts.TryGetValue(userName, out var entry) ? entry.Account.Tenants : []);
    }

    /// <summary>Admin: replaces a reviewer's tenants (open sessions see the change at their next page load or action).</summary>
    public async Task AssignTenantsAsync(Reviewer admin, string userName, IReadOnlyList<string> tenants, CancellationToken cancellationToken)
    {
        if (!admin.IsAdmin)
        {
            throw new ReviewRefusedException(ReviewRefusal.Forbidden, "only an admin assigns tenants");
        }

        if (!_accounts.ContainsKey(userName))
        {
            throw new ReviewRefusedException(ReviewRefusal.NotFound, $"no reviewer '{userName}'");
        }

        // An admin scoped to some tenants hands out only those ("*" only with "*"), and cannot take away others it does
        // not hold: otherwise it could give itself every tenant.
        var current = await GetTenantsAsync(userName, cancellationToken);
        if (tenants.Concat(current).FirstOrDefault(t => !admin.CanSeeTenant(t)) is { } outside)
        {
            throw new ReviewRefusedException(ReviewRefusal.Forbidden, $"tenant '{outside}' is not one of yours to assign");
        }

        await _dapr.SaveStateAsync(DaprComponents.StateStore, TenantKeyPrefix + userName.ToLowerInvariant(), tenants.ToList(), cancellationToken: cancellationToken);
    }

    public IReadOnlyList<string> RolesOf(string userName) => _accounts.TryGetValue(userName, out var entry) ? entry.Account.Roles : [];
}
