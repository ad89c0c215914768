using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>A conversation longer than the safety check takes is the client's error, named by the gateway itself.</summary>
public sealed class ConversationLimitTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    [Fact]
    public async Task More_messages_than_the_safety_check_takes_are_refused_before_any_call()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var before = gateway.Backend.ModerationCalls.Count;
        var messages = Enumerable.Range(0, ModerationLimits.MaxConversationMessages + 1).Select(i => new { role = "user", content = $"line {i}" });

        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "daprllm-demo", messages }, ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains(ModerationLimits.MaxConversationMessages.ToString(CultureInfo.InvariantCulture), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, gateway.Backend.ModerationCalls.Count);

        // At the limit the conversation is served.
        using var atLimit = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = messages.Take(ModerationLimits.MaxConversationMessages), max_tokens = 4 }, ct);
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
    }
}
