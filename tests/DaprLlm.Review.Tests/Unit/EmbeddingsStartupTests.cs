using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Unit;

/// <summary>Moderation:Embeddings is validated when the safety app starts, not at the first check.</summary>
public sealed class EmbeddingsStartupTests
{
    [Theory]
    [InlineData("Moderation:Embeddings:TimeoutMilliseconds", "0", "TimeoutMilliseconds")]
    [InlineData("Moderation:Embeddings:Model", "", "Model")]
    [InlineData("Moderation:Embeddings:AppId", "", "AppId")]
    public async Task The_app_refuses_to_start_with_invalid_embedding_options(string key, string value, string member)
    {
        await using var app = new SafetyApp(Ports.GetFree(), new Dictionary<string, string>
        {
            ["Moderation:Embeddings:Source"] = "InferenceService",
            [key] = value,
        });

        var error = Assert.Throws<OptionsValidationException>(app.Start);
        Assert.Contains(member, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_embedding_source_stops_the_start_naming_the_setting()
    {
        await using var app = new SafetyApp(Ports.GetFree(), new Dictionary<string, string> { ["Moderation:Embeddings:Source"] = "Gpu" });

        var error = Assert.ThrowsAny<Exception>(app.Start);
        Assert.Contains("Source", error.ToString(), StringComparison.Ordinal);
    }
}
