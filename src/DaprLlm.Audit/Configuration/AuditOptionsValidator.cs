using Microsoft.Extensions.Options;

namespace DaprLlm.Audit.Configuration;

/// <summary>Cross-field checks data annotations cannot express.</summary>
public sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var failures = new List<string>();
        if (options.Regions.Count == 0 || options.Regions.Any(r => !System.Text.RegularExpressions.Regex.IsMatch(r, "^[a-z][a-z0-9_]{0,30}$")))
        {
            failures.Add("Audit:Regions must list lowercase region names");
        }

        if (!options.Regions.Contains(options.DefaultRegion))
        {
            failures.Add($"Audit:DefaultRegion '{options.DefaultRegion}' is not one of Audit:Regions");
        }

        foreach (var (tenant, policy) in options.Tenants)
        {
            if (policy.Region is { } region && !options.Regions.Contains(region))
            {
                failures.Add($"tenant '{tenant}' is in region '{region}', which is not one of Audit:Regions");
            }
        }

        if (options.Store == "postgres" && string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            failures.Add("Audit:PostgresConnectionString is required when Audit:Store is postgres");
        }

        foreach (var admin in options.Admins)
        {
            if (admin.Key.Length < 16)
            {
                failures.Add($"admin key '{admin.Name}' is shorter than 16 characters");
            }

            if (admin.Regions.Any(r => !options.Regions.Contains(r)))
            {
                failures.Add($"admin key '{admin.Name}' names a region that is not one of Audit:Regions");
            }
        }

        var alertResults = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options.Alerts, new(options.Alerts), alertResults, validateAllProperties: true);
        foreach (var binding in options.Alerts.Bindings)
        {
            System.ComponentModel.DataAnnotations.Validator.TryValidateObject(binding, new(binding), alertResults, validateAllProperties: true);
        }

        failures.AddRange(alertResults.Select(r => "Audit:Alerts: " + r.ErrorMessage));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
