using System.Text.Json;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>Which upstream 400s reach the client with their own words: only the inference app's context_length_exceeded.</summary>
public sealed class UpstreamErrorsTests
{
    private const string ContextBody =
        "{\"error\":{\"message\":\"this model's context is 512 tokens; the messages take 9 and max_tokens asks for 4000\",\"type\":\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":\"context_length_exceeded\"}}";

    [Fact]
    public async Task The_inference_app_s_context_length_error_keeps_its_code_and_sizes()
    {
        var error = await AnswerAsync(new UpstreamException("inference-us", 400, "inference-us answered 400", body: ContextBody));

        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        Assert.Contains("512 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("4000", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_inference_app_s_logit_bias_vocabulary_error_keeps_its_message()
    {
        const string body = "{\"error\":{\"message\":\"logit_bias names token 999999, but this model's vocabulary has 4096 tokens (0 to 4095)\",\"type\":\"invalid_request_error\",\"param\":\"logit_bias\",\"code\":\"invalid_value\"}}";
        var error = await AnswerAsync(new UpstreamException("inference", 400, "inference answered 400", body: body));

        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
        Assert.Equal("logit_bias", error.GetProperty("param").GetString());
        Assert.Contains("4096 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_embedding_input_too_long_for_the_model_names_the_input_not_max_tokens()
    {
        const string body = "{\"error\":{\"message\":\"This model's maximum context length is 256 tokens, however input[1] has 602 tokens. Shorten or split the input.\",\"type\":\"invalid_request_error\",\"param\":\"input\",\"code\":\"context_length_exceeded\"}}";
        var error = await AnswerAsync(new UpstreamException("inference", 400, "inference answered 400", body: body));

        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
        Assert.DoesNotContain("max_tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("input[1] has 602 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("safety", ContextBody)]
    [InlineData("inference", "{\"error\":{\"message\":\"secret internals\",\"param\":\"messages\",\"code\":\"invalid_value\"}}")]
    [InlineData("inference", "{\"error\":{\"message\":\"secret internals\",\"code\":\"invalid_value\"}}")]
    [InlineData("inference", "not json: secret internals")]
    [InlineData("inference", "{\"error\":\"context_length_exceeded secret internals\"}")]
    public async Task Any_other_400_keeps_the_generic_message(string appId, string body)
    {
        var error = await AnswerAsync(new UpstreamException(appId, 400, $"{appId} answered 400", body: body));

        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
        Assert.DoesNotContain("secret", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("512", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> AnswerAsync(UpstreamException e)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await UpstreamErrors.ToResult(e, context, NullLogger.Instance).ExecuteAsync(context);
        Assert.Equal(400, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        using var json = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: TestContext.Current.CancellationToken);
        return json.RootElement.GetProperty("error").Clone();
    }
}
