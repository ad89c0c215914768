using System.Security.Cryptography;
using System.Text;
using DaprLlm.Audit.Configuration;

namespace DaprLlm.Audit.Admin;

/// <summary>The caller of an admin endpoint, identified by its API key.</summary>
public sealed record AdminCaller(string Name, IReadOnlySet<string> Roles, IReadOnlySet<string> Regions)
{
    public const string AdminRole = "admin";
    public const string ComplianceRole = "compliance";

    public bool Can(string role) => Roles.Contains(AdminRole) || Roles.Contains(role);
}

/// <summary>Matches the <c>X-Admin-Key</c> header against configured keys in constant time.</summary>
public static class AdminAuth
{
    public const string Header = "X-Admin-Key";

    public static AdminCaller? Identify(HttpRequest request, AuditOptions options)
    {
        var presented = request.Headers[Header].ToString();
        if (presented.Length == 0)
        {
            return null;
        }

        var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        AdminCaller? found = null;
        foreach (var admin in options.Admins)
        {
            // Every key is compared (no early exit), so timing does not tell which one matched.
            if (CryptographicOperations.FixedTimeEquals(presentedHash, SHA256.HashData(Encoding.UTF8.GetBytes(admin.Key))))
            {
                found = new AdminCaller(admin.Name, admin.Roles.ToHashSet(StringComparer.Ordinal), admin.Regions.ToHashSet(StringComparer.Ordinal));
            }
        }

        return found;
    }

    /// <summary>OpenAI-style error objects for the admin API.</summary>
    public static IResult Error(int status, string code, string message) =>
        TypedResults.Json(new { error = new { message, type = status == 400 ? "invalid_request_error" : "admin_error", code } }, statusCode: status);
}
