using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DaprLlm.Review.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Moderation;

/// <summary>Routes of the safety app answer OpenAI-style JSON when their sidecar is gone, never an empty 500.</summary>
public sealed class DependencyOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_policy_admin_api_answers_503_json_with_retry_after_while_the_sidecar_is_down_and_a_bad_tenant_400()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10));
        using var app = host.CreateAppClient();
        app.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ReviewHost.AdminKey);

        using var badTenant = await app.GetAsync("/admin/policies/a%7C%7Cb", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badTenant.StatusCode);
        Assert.Equal("tenant", JsonDocument.Parse(await badTenant.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error").GetProperty("param").GetString());

        await host.Sidecar.KillAsync();
        using var down = await app.GetAsync("/admin/policies/acme", Ct);

        var text = await down.Content.ReadAsStringAsync(Ct);
        Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)down.StatusCode}: {text}");
        Assert.Equal("dependency_unavailable", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.NotNull(down.Headers.RetryAfter);
    }
}
