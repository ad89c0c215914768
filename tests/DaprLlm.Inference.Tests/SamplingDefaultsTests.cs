using System.Text.Json;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Tests;

/// <summary>genai_config.json's "search" section gives top_p / top_k for requests that leave them unset, only when it asks for sampling.</summary>
public sealed class SamplingDefaultsTests
{
    [Fact]
    public void A_sampling_search_section_gives_its_top_p_and_top_k()
    {
        var defaults = Read("""{"search":{"do_sample":true,"top_k":40,"top_p":0.95,"temperature":1.0}}""");

        Assert.Equal(new SamplingDefaults(0.95, 40), defaults);
    }

    [Theory]
    [InlineData("""{"search":{"do_sample":false,"top_k":1,"top_p":1.0}}""")]
    [InlineData("""{"search":{"top_k":50}}""")]
    [InlineData("""{}""")]
    public void Greedy_or_missing_search_settings_leave_the_openai_defaults(string json)
    {
        // ORT GenAI's greedy default (Phi-3 ships top_k 1 with do_sample false) must not turn every request greedy.
        Assert.Equal(SamplingDefaults.OpenAi, Read(json));
    }

    [Theory]
    [InlineData("""{"search":{"do_sample":true,"top_p":0}}""")]
    [InlineData("""{"search":{"do_sample":true,"top_p":1.5}}""")]
    [InlineData("""{"search":{"do_sample":true,"top_k":-1}}""")]
    public void Out_of_range_values_fail_the_load_naming_the_file(string json)
    {
        var error = Assert.Throws<ModelLoadException>(() => Read(json));

        Assert.Contains("genai_config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_demo_model_recommends_top_k_40_and_top_p_0_95()
    {
        Assert.Equal(new SamplingDefaults(0.95, 40), GenAiConfig.Load(Infrastructure.DemoModel.Folder).Sampling);
    }

    private static SamplingDefaults Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return SamplingDefaults.From(doc.RootElement, "model/genai_config.json");
    }
}
