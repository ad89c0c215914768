using System.Security.Claims;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.Review.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.ReviewUi;

/// <summary>
/// The reviewer web UI (Blazor Server, no CDN): cookie sign-in with the seeded accounts, or OpenID Connect when
/// Review:Oidc is configured; pages under /review.
/// </summary>
public static class ReviewUiSetup
{
    public const string LoginPath = "/review/login";

    /// <summary>
    /// The data-protection application name: fixed, so every replica (and every build, wherever it is installed) reads
    /// the others' cookies; the default derives it from the content root path.
    /// </summary>
    public const string DataProtectionApplicationName = "DaprLlm.Safety.Review";

    public static WebApplicationBuilder AddReviewUi(this WebApplicationBuilder builder)
    {
        builder.Services.AddReviewKeyRing();
        // Read once at start to pick the schemes; the same section is validated with the other review options.
        var oidc = builder.Configuration.GetSection(ReviewOptions.Section).GetSection(nameof(ReviewOptions.Oidc)).Get<ReviewOidcOptions>();
        var authentication = builder.Services.AddAuthentication(o =>
        {
            o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            if (oidc is not null)
            {
                o.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            }
        }).AddCookie(o =>
        {
            o.LoginPath = LoginPath;
            o.AccessDeniedPath = LoginPath;
            o.Cookie.Name = "daprllm-review";
            o.Cookie.HttpOnly = true;
            // With OIDC the sign-in ends in a navigation the provider started (its form post to the callback, then the
            // redirect to /review): browsers withhold Strict cookies there, so the reviewer would bounce back to the
            // provider. Lax still keeps the cookie off cross-site posts.
            o.Cookie.SameSite = oidc is null ? SameSiteMode.Strict : SameSiteMode.Lax;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.Events.OnValidatePrincipal = async context =>
            {
                // An account removed from configuration ends its sessions at their next request.
                var directory = context.HttpContext.RequestServices.GetRequiredService<ReviewerDirectory>();
                if (context.Principal is { } principal && !directory.IsStillValid(principal))
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                }
            };
        });
        if (oidc is not null)
        {
            authentication.AddOpenIdConnect(o =>
            {
                o.Authority = oidc.Authority;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = oidc.ClientSecret;
                o.ResponseType = "code";
                o.CallbackPath = "/review/signin-oidc";
                // Keep the provider's claim names: .NET's default mapping renames registered ones ("roles", Entra ID's
                // "tid", ...), and RoleClaim / TenantClaim name the claims as the provider sends them.
                o.MapInboundClaims = false;
                o.TokenValidationParameters.NameClaimType = ReviewerNameClaim;
                o.TokenValidationParameters.RoleClaimType = ClaimTypes.Role;
                o.Events.OnTokenValidated = context =>
                {
                    // The provider's role and tenant claims become the ones the review service reads.
                    if (context.Principal?.Identity is ClaimsIdentity identity)
                    {
                        // Claims and decisions are matched by name, so the name must be unique and stable: the subject
                        // (unique per issuer) with a readable label. preferred_username alone is neither, and some
                        // providers do not send it at all (every page then failed).
                        if (identity.FindFirst("sub")?.Value is not { Length: > 0 } subject)
                        {
                            context.Fail("the identity token has no 'sub' claim");
                            return Task.CompletedTask;
                        }

                        var label = identity.FindFirst("preferred_username")?.Value ?? identity.FindFirst("email")?.Value ?? identity.FindFirst("name")?.Value;
                        identity.AddClaim(new Claim(ReviewerNameClaim, label is { Length: > 0 } ? $"{label} [{subject}]" : subject));
                        identity.AddClaims(identity.FindAll(oidc.RoleClaim).Select(c => new Claim(ClaimTypes.Role, c.Value)).ToList());
                        identity.AddClaims(identity.FindAll(oidc.TenantClaim).Select(c => new Claim(ReviewRoles.TenantClaim, c.Value)).ToList());
                        identity.AddClaim(new Claim(ReviewRoles.SignInClaim, ReviewRoles.OidcSignIn));
                    }

                    return Task.CompletedTask;
                };
            });
        }

        builder.Services.AddAuthorization();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddAntiforgery();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        return builder;
    }

    /// <summary>
    /// Data protection (cookies, antiforgery) with its key ring in <see cref="ReviewKeyRingOptions"/>' folder: the default
    /// ring lives in memory or in the user profile, so a restarted container signed every reviewer out and two replicas
    /// refused each other's cookies.
    /// </summary>
    public static IServiceCollection AddReviewKeyRing(this IServiceCollection services)
    {
        services.AddOptions<ReviewKeyRingOptions>().BindConfiguration(ReviewKeyRingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReviewKeyRingOptions>, ReviewKeyRingOptionsValidator>();
        services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<ReviewKeyRingOptions>, IHostEnvironment, ILoggerFactory>((o, ring, environment, logs) =>
            o.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(ring.Value.ResolveDirectory(environment.ContentRootPath)), logs));
        return services;
    }

    // The claim an OIDC reviewer's name is read from (set at sign-in from "sub" and a readable label).
    private const string ReviewerNameClaim = "daprllm_reviewer";

    public static WebApplication MapReviewUi(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<Components.App>().AddInteractiveServerRenderMode();
        app.MapPost("/review/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return TypedResults.LocalRedirect(LoginPath);
        }).RequireAuthorization();
        return app;
    }
}
