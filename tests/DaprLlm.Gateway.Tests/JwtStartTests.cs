using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace DaprLlm.Gateway.Tests;

/// <summary>JWT signing keys are parsed at start: one that could never verify a token stops the start, naming the setting.</summary>
public sealed class JwtStartTests
{
    [Theory]
    [InlineData("not-base64", "Jwt:SigningKeys:0 is not valid base64")]
    [InlineData("short-hmac", "Jwt:SigningKeys:0 is an HMAC key of 128 bits; HS256 needs at least 256 bits")]
    [InlineData("certificate", "Jwt:SigningKeys:0 is a certificate")]
    [InlineData("private-key", "Jwt:SigningKeys:0 is a PRIVATE KEY; configure the public key only")]
    public void A_signing_key_that_cannot_verify_tokens_stops_the_start(string kind, string expected)
    {
        using var rsa = RSA.Create(2048);
        var key = kind switch
        {
            "not-base64" => "base64:!!",
            "short-hmac" => "base64:" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)),
            "certificate" => new CertificateRequest("CN=issuer", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1)).ExportCertificatePem(),
            _ => rsa.ExportPkcs8PrivateKeyPem(),
        };
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Development");
            web.UseSetting("Jwt:Enabled", "true");
            web.UseSetting("Jwt:Issuer", "https://issuer.test.local");
            web.UseSetting("Jwt:Audience", "daprllm-gateway");
            web.UseSetting("Jwt:SigningKeys:0", key);
            web.ConfigureLogging(l => l.ClearProviders());
        });

        // Before, the key was parsed on the first request: every /v1 request answered 500, API-key callers too.
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_rsa_public_key_and_a_256_bit_hmac_key_are_accepted()
    {
        using var rsa = RSA.Create(2048);
        var options = new Auth.JwtOptions
        {
            Enabled = true,
            Issuer = "https://issuer.test.local",
            Audience = "daprllm-gateway",
            SigningKeys = [rsa.ExportSubjectPublicKeyInfoPem(), rsa.ExportRSAPublicKeyPem(), "base64:" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))],
        };
        Assert.Empty(options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)));
    }
}
