using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>--app-channel-address and --app-protocol with values other than the defaults, against a real app.</summary>
public sealed class AppChannelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reaches_an_https_app_listening_only_on_the_given_app_channel_address()
    {
        // 127.0.0.2 is loopback too, but not the default 127.0.0.1: only a sidecar that uses the flag finds the app.
        var appAddress = IPAddress.Parse("127.0.0.2");
        var appPort = Ports.GetFree();
        using var certificate = SelfSigned();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(appAddress, appPort, l => l.UseHttps(certificate)));
        await using var app = builder.Build();
        app.MapGet("/whoami", (HttpContext c) => $"{c.Request.Scheme} {c.Connection.LocalIpAddress}");
        await app.StartAsync(Ct);

        using var folder = new TempFolder();
        var settings = new SidecarSettings("channel-app", folder.Sub("components"), folder.Sub("registry"))
        {
            AppPort = appPort,
            ExtraArgs = ["--app-channel-address", "127.0.0.2", "--app-protocol", "https"],
        };
        await using var sidecar = await SidecarProcess.StartAsync(settings);
        using var http = new HttpClient();

        using var response = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/invoke/channel-app/method/whoami", Ct);
        using var metadata = await http.GetAsync($"{sidecar.HttpEndpoint}/v1.0/metadata", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https 127.0.0.2", await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains("\"protocol\":\"https\"", await metadata.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stops_at_start_on_an_app_protocol_it_cannot_speak()
    {
        using var folder = new TempFolder();
        var settings = new SidecarSettings("grpc-app", folder.Sub("components"), folder.Sub("registry"))
        {
            AppPort = Ports.GetFree(),
            ExtraArgs = ["--app-protocol", "grpc"],
        };

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(settings, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("--app-protocol grpc is not supported", output, StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

        // Kestrel on Linux needs the key in an exportable store form: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
