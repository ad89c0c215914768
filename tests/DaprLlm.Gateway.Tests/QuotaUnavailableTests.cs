using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>Admission when the quota actors cannot be reached: a clear, retryable OpenAI error, never a bare 500.</summary>
public sealed class QuotaUnavailableTests(UnreachableQuotaGateway gateway) : IClassFixture<UnreachableQuotaGateway>
{
    [Fact]
    public async Task An_unreachable_quota_actor_answers_503_service_unavailable_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var callsBefore = gateway.Backend.CallsTo("inference-eu v1/generate");
        using var response = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 }, ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.True(response.Headers.Contains("x-request-id"));
        var body = await response.Content.ReadAsStringAsync(ct);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("service_unavailable", error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());

        // Nothing internal reaches the client, and nothing was generated for a request that was not admitted.
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        Assert.Equal(callsBefore, gateway.Backend.CallsTo("inference-eu v1/generate"));
    }
}
