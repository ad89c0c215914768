namespace DaprLlm.Safety.Review.Accounts;

/// <summary>
/// A seeded reviewer. Production gives <see cref="PasswordHash"/> (ASP.NET Core Identity's PasswordHasher
/// format); <see cref="Password"/> in clear is accepted only in the Development environment and hashed at start.
/// Tenants "*" means every tenant.
/// </summary>
public sealed class ReviewerAccountOptions
{
    public string UserName { get; set; } = "";

    public string? PasswordHash { get; set; }

    public string? Password { get; set; }

    public List<string> Roles { get; set; } = [];

    public List<string> Tenants { get; set; } = [];
}
