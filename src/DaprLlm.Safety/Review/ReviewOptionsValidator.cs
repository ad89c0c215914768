using DaprLlm.Safety.Review.Accounts;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review;

/// <summary>Checks what data annotations cannot: SLAs, roles, and that clear passwords appear only in Development.</summary>
public sealed class ReviewOptionsValidator(IHostEnvironment environment) : IValidateOptions<ReviewOptions>
{
    public ValidateOptionsResult Validate(string? name, ReviewOptions options)
    {
        var failures = new List<string>();
        if (options.SlaBySeverity.Count == 0 || options.SlaBySeverity.Values.Any(s => s <= TimeSpan.Zero))
        {
            failures.Add("Review:SlaBySeverity needs at least one severity and every SLA must be positive");
        }

        foreach (var account in options.Accounts)
        {
            var who = $"Review:Accounts '{account.UserName}'";
            if (string.IsNullOrWhiteSpace(account.UserName))
            {
                failures.Add("Review:Accounts: every account needs a UserName");
            }

            if (string.IsNullOrEmpty(account.PasswordHash) == string.IsNullOrEmpty(account.Password))
            {
                failures.Add($"{who}: give exactly one of PasswordHash or Password");
            }
            else if (!string.IsNullOrEmpty(account.Password) && !environment.IsDevelopment())
            {
                failures.Add($"{who}: a clear Password is only accepted in Development; give a PasswordHash");
            }

            if (account.Roles.Count == 0 || account.Roles.Any(r => !ReviewRoles.All.Contains(r)))
            {
                failures.Add($"{who}: roles must be among {string.Join(", ", ReviewRoles.All)}");
            }
        }

        if (options.Accounts.GroupBy(a => a.UserName, StringComparer.OrdinalIgnoreCase).Any(g => g.Count() > 1))
        {
            failures.Add("Review:Accounts: user names must be unique");
        }

        if (options.Oidc is { } oidc && (string.IsNullOrWhiteSpace(oidc.Authority) || string.IsNullOrWhiteSpace(oidc.ClientId)))
        {
            failures.Add("Review:Oidc needs Authority and ClientId");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
