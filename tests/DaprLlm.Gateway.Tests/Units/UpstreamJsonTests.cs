using System.Text.Json;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>The generated JSON metadata of the upstream calls writes and reads the same JSON as reflection with web defaults.</summary>
public sealed class UpstreamJsonTests
{
    private static readonly JsonSerializerOptions Reflection = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Upstream_request_bodies_are_the_same_json_as_with_reflection()
    {
        var ct = TestContext.Current.CancellationToken;
        object[] bodies =
        [
            new ModerationRequest("req-1", "héllo \"world\"", "tenant-a", "eu"),
            new GenerateCall("req-1", "daprllm-demo", [new ChatMessage("user", "hi")], 8, 0.5, 42, 0.9, null, ["\n"]),
            new EmbeddingsCall("mini", ["a", "b"]),
        ];
        foreach (var body in bodies)
        {
            var generated = await InvokeBody(body).ReadAsStringAsync(ct);
            Assert.Equal(JsonSerializer.Serialize(body, body.GetType(), Reflection), generated);
        }
    }

    [Fact]
    public void Upstream_answers_read_case_insensitively_with_numbers_as_strings_as_web_defaults_do()
    {
        var verdict = JsonSerializer.Deserialize<SafetyVerdict>("{\"Decision\":\"allow\",\"reasons\":[],\"policyVersion\":\"v3\"}", UpstreamCall.Json)!;
        Assert.Equal(("allow", "v3"), (verdict.Decision, verdict.PolicyVersion));
        var result = JsonSerializer.Deserialize<GenerationResult>("{\"model\":\"m\",\"text\":\"t\",\"promptTokens\":\"3\",\"completionTokens\":4,\"finishReason\":\"stop\"}", UpstreamCall.Json)!;
        Assert.Equal(new GenerationResult("m", "t", 3, 4, "stop"), result);
        Assert.IsAssignableFrom<System.Text.Json.Serialization.JsonSerializerContext>(UpstreamCall.Json.GetTypeInfo(typeof(GenerateCall)).OriginatingResolver);
    }

    private static HttpContent InvokeBody(object body) =>
        (HttpContent)typeof(UpstreamCall).GetMethod(nameof(UpstreamCall.Body))!.MakeGenericMethod(body.GetType()).Invoke(null, [body])!;
}
