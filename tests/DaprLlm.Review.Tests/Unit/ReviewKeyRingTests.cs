using DaprLlm.Safety.ReviewUi;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace DaprLlm.Review.Tests.Unit;

/// <summary>The reviewer UI's data protection, as each replica of the safety app builds it.</summary>
public sealed class ReviewKeyRingTests
{
    [Fact]
    public void Replicas_given_the_same_key_ring_folder_read_each_others_protected_payloads()
    {
        var keys = Path.Combine(Path.GetTempPath(), "daprllm-keyring-test", Guid.NewGuid().ToString("N"));
        try
        {
            // Installed in different folders (the default application name would differ), sharing one volume for keys.
            using var first = Replica("/srv/replica-a", keys);
            var payload = first.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookies").Protect("reviewer session");
            using var second = Replica("/srv/replica-b", keys);

            Assert.Equal("reviewer session", second.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookies").Unprotect(payload));
            Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
        }
        finally
        {
            if (Directory.Exists(keys))
            {
                Directory.Delete(keys, recursive: true);
            }
        }
    }

    private static ServiceProvider Replica(string contentRoot, string keys)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Review:KeyRing:Directory"] = keys }).Build());
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = "Production", ContentRootPath = contentRoot, ApplicationName = "DaprLlm.Safety" });
        services.AddReviewKeyRing();
        return services.BuildServiceProvider();
    }
}
