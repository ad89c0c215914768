using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace DaprLlm.Review.Tests.Ui;

/// <summary>
/// Reviewer sign-in through OpenID Connect (Review:Oidc): the real safety app on HTTPS, a small real provider on
/// HTTPS (discovery, JWKS, authorize with form_post, token with PKCE and client secret, RS256 id_token), and the
/// browser's redirects driven by an HttpClient with a cookie jar. Only the app's backchannel is changed: it trusts
/// exactly the test certificate (pinned by thumbprint), as a production app trusts its provider's public one.
/// </summary>
public sealed partial class OidcSignInTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Claim names of the provider's own choosing, and the registered names that .NET's default inbound claim mapping
    /// would rename ("roles", Entra ID's "tid"): the app must find each claim under the name the operator configured.
    /// </summary>
    [Theory]
    [InlineData("review_roles", "review_tenants", true)]
    [InlineData("roles", "tid", true)]
    [InlineData("roles", "tid", false)] // a provider that sends no preferred_username (every page failed)
    public async Task A_reviewer_signs_in_through_the_provider_and_gets_the_roles_and_tenants_of_their_claims(string roleClaim, string tenantClaim, bool userName)
    {
        using var certificate = LoopbackCertificate();
        var claims = new Dictionary<string, object>
        {
            ["sub"] = "u-olive",
            // The app maps these through RoleClaim and TenantClaim.
            [roleClaim] = new[] { "reviewer" },
            [tenantClaim] = new[] { "acme" },
        };
        if (userName)
        {
            claims["preferred_username"] = "olive";
        }

        await using var provider = await Provider.StartAsync(certificate, claims);
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromHours(1), extraSettings: new Dictionary<string, string>
        {
            ["Review:Oidc:Authority"] = provider.Issuer,
            ["Review:Oidc:ClientId"] = Provider.ClientId,
            ["Review:Oidc:ClientSecret"] = Provider.ClientSecret,
            ["Review:Oidc:RoleClaim"] = roleClaim,
            ["Review:Oidc:TenantClaim"] = tenantClaim,
        }, httpsCertificate: certificate, testServices: services => services.Configure<OpenIdConnectOptions>(
            OpenIdConnectDefaults.AuthenticationScheme, o => o.BackchannelHttpHandler = Pinned(certificate)));
        var acme = await host.Reviews.EscalateAsync(ReviewHost.Item("acme"), Ct);
        var globex = await host.Reviews.EscalateAsync(ReviewHost.Item("globex"), Ct);

        var cookies = new CookieContainer();
        using var browser = new HttpClient(Pinned(certificate, cookies)) { BaseAddress = new Uri(host.App.HttpsAddress) };

        // Not signed in: the queue sends the browser to the provider's authorize endpoint with the app's callback.
        using var challenge = await browser.GetAsync(new Uri("/review", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var authorize = challenge.Headers.Location!;
        Assert.StartsWith($"{provider.Issuer}/authorize?", authorize.AbsoluteUri, StringComparison.Ordinal);
        var query = QueryHelpers.ParseQuery(authorize.Query);
        Assert.Equal(Provider.ClientId, query["client_id"]);
        Assert.Equal($"{host.App.HttpsAddress}/review/signin-oidc", query["redirect_uri"]);
        Assert.Equal("code", query["response_type"]);

        // The provider answers with its auto-submitting form (form_post); post it back as a browser would.
        using var form = await browser.GetAsync(authorize, Ct);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var html = await form.Content.ReadAsStringAsync(Ct);
        var action = new Uri(WebUtility.HtmlDecode(FormAction().Match(html).Groups[1].Value));
        var fields = HiddenInput().Matches(html).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        using var callback = await browser.PostAsync(action, new FormUrlEncodedContent(fields), Ct);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/review", new Uri(new Uri(host.App.HttpsAddress), callback.Headers.Location!).AbsolutePath);
        // The session cookie must survive the provider-started navigation back to /review: Lax, not Strict.
        var session = Assert.Single(callback.Headers.GetValues("Set-Cookie"), c => c.StartsWith("daprllm-review=", StringComparison.Ordinal));
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, provider.Redeemed);

        // Signed in: the queue shows the provider's user with the mapped role, and only the claimed tenant's items.
        using var queue = await browser.GetAsync(new Uri("/review", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, queue.StatusCode);
        var page = await queue.Content.ReadAsStringAsync(Ct);
        // The name is unique and stable per provider: its subject, with the readable name when there is one.
        Assert.Contains(userName ? ">olive [u-olive] (reviewer)<" : ">u-olive (reviewer)<", page, StringComparison.Ordinal);
        Assert.Contains($"data-id=\"{acme}\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain($"data-id=\"{globex}\"", page, StringComparison.Ordinal);
    }

    /// <summary>A self-signed server certificate for 127.0.0.1, made fresh for the test (never installed anywhere).</summary>
    private static X509Certificate2 LoopbackCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Through PKCS#12 so the key is a persisted one that SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>A handler that accepts exactly this certificate (a pin, not a disabled check) and follows no redirects.</summary>
    private static SocketsHttpHandler Pinned(X509Certificate2 certificate, CookieContainer? cookies = null) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = cookies is not null,
        CookieContainer = cookies ?? new CookieContainer(),
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(certificate.GetCertHash()),
        },
    };

    [GeneratedRegex("<form[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenInput();

    /// <summary>
    /// A minimal OpenID provider for one user: code flow with form_post, PKCE (S256) and client_secret_post, an
    /// RS256 id_token that echoes the nonce. It refuses what a real provider refuses (wrong client, secret,
    /// redirect, verifier, a code used twice), so the app has to do each step right.
    /// </summary>
    private sealed class Provider : IAsyncDisposable
    {
        public const string ClientId = "review-ui";
        public const string ClientSecret = "review-ui-secret";
        private const string KeyId = "test-key";

        private readonly RSA _key = RSA.Create(2048);
        private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);
        private readonly IReadOnlyDictionary<string, object> _user;
        private WebApplication _app = default!;
        private int _redeemed;

        private Provider(string issuer, IReadOnlyDictionary<string, object> user)
        {
            Issuer = issuer;
            _user = user;
        }

        public string Issuer { get; }

        /// <summary>How many codes the app redeemed successfully.</summary>
        public int Redeemed => Volatile.Read(ref _redeemed);

        public static async Task<Provider> StartAsync(X509Certificate2 certificate, IReadOnlyDictionary<string, object> user)
        {
            var port = Ports.GetFree();
            var provider = new Provider($"https://127.0.0.1:{port}", user);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));
            var app = builder.Build();
            app.MapGet("/.well-known/openid-configuration", provider.Discovery);
            app.MapGet("/jwks", provider.Keys);
            app.MapGet("/authorize", provider.Authorize);
            app.MapPost("/token", provider.TokenAsync);
            await app.StartAsync();
            provider._app = app;
            return provider;
        }

        private IResult Discovery() => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = $"{Issuer}/authorize",
            ["token_endpoint"] = $"{Issuer}/token",
            ["jwks_uri"] = $"{Issuer}/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["response_modes_supported"] = new[] { "form_post" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post" },
        });

        private IResult Keys()
        {
            var key = _key.ExportParameters(includePrivateParameters: false);
            return Results.Json(new
            {
                keys = new[]
                {
                    new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) },
                },
            });
        }

        // Signs the one user in at once (no login form) and posts the code to the client's redirect uri.
        private IResult Authorize(HttpRequest request)
        {
            var q = request.Query;
            if (q["client_id"] != ClientId || q["response_type"] != "code" || q["response_mode"] != "form_post"
                || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"]) || string.IsNullOrEmpty(q["nonce"])
                || !Uri.TryCreate(q["redirect_uri"], UriKind.Absolute, out var redirect) || redirect.Scheme != Uri.UriSchemeHttps)
            {
                return Results.BadRequest(new { error = "invalid_request" });
            }

            var code = Guid.NewGuid().ToString("N");
            _codes[code] = new Grant(redirect.AbsoluteUri, q["nonce"]!, q["code_challenge"]!);
            var e = (string? s) => WebUtility.HtmlEncode(s);
            return Results.Content($"""
                <html><body onload="document.forms[0].submit()"><form method="post" action="{e(redirect.AbsoluteUri)}">
                <input type="hidden" name="code" value="{e(code)}" />
                <input type="hidden" name="state" value="{e(q["state"])}" />
                </form></body></html>
                """, "text/html");
        }

        private async Task<IResult> TokenAsync(HttpRequest request)
        {
            var form = await request.ReadFormAsync();
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret)
            {
                return Results.Json(new { error = "invalid_client" }, statusCode: StatusCodes.Status401Unauthorized);
            }

            var verifier = form["code_verifier"].ToString();
            if (form["grant_type"] != "authorization_code" || !_codes.TryRemove(form["code"].ToString(), out var grant)
                || form["redirect_uri"] != grant.RedirectUri
                || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != grant.CodeChallenge)
            {
                return Results.BadRequest(new { error = "invalid_grant" });
            }

            var now = DateTime.UtcNow;
            var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Issuer,
                Audience = ClientId,
                IssuedAt = now,
                NotBefore = now,
                Expires = now.AddMinutes(5),
                Claims = new Dictionary<string, object>(_user) { ["nonce"] = grant.Nonce },
                SigningCredentials = new SigningCredentials(new RsaSecurityKey(_key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
            });
            Interlocked.Increment(ref _redeemed);
            return Results.Json(new Dictionary<string, object>
            {
                ["access_token"] = Guid.NewGuid().ToString("N"),
                ["token_type"] = "Bearer",
                ["expires_in"] = 300,
                ["id_token"] = idToken,
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _key.Dispose();
        }

        private sealed record Grant(string RedirectUri, string Nonce, string CodeChallenge);
    }
}
