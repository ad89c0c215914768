using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Unit;

/// <summary>The review options are validated when the safety app starts: a bad configuration stops it with a clear message.</summary>
public sealed class ReviewStartupTests
{
    [Theory]
    [InlineData("Review:Accounts:0:Password", "clear", "only accepted in Development")]
    [InlineData("Review:Oidc:ClientId", "reviewers", "Review:Oidc needs Authority and ClientId")]
    [InlineData("Review:SlaBySeverity:high", "-00:01:00", "every SLA must be positive")]
    [InlineData("Review:KeyRing:Directory", "/dev/null/keys", "cannot hold the reviewer UI's key ring")]
    public async Task The_app_refuses_to_start_with_invalid_review_options(string key, string value, string message)
    {
        var settings = new Dictionary<string, string>
        {
            ["Review:Accounts:0:UserName"] = "prod",
            ["Review:Accounts:0:Roles:0"] = "reviewer",
            ["Review:Accounts:0:PasswordHash"] = "AQAAAAIAAYagAAAAE...",
            [key] = value,
        };
        if (key.EndsWith(":Password", StringComparison.Ordinal))
        {
            settings.Remove("Review:Accounts:0:PasswordHash");
        }

        await using var app = new SafetyApp(Ports.GetFree(), settings, environment: "Production");

        var error = Assert.Throws<OptionsValidationException>(app.Start);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
