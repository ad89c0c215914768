using System.Text.Json;
using DaprLlm.Audit.Ingestion;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>Reading the raw CloudEvent the sidecar delivers.</summary>
public sealed class CloudEventEnvelopeTests
{
    [Fact]
    public void The_data_outlives_the_request_document()
    {
        CloudEventEnvelope? envelope;
        using (var document = JsonDocument.Parse("""{"id":"e1","type":"com.dapr.event.sent","source":"gateway","topic":"request.completed","data":{"requestId":"r1"}}"""))
        {
            Assert.True(CloudEventEnvelope.TryParse(document.RootElement, "request.completed", out envelope, out _));
        }

        Assert.Equal("r1", envelope!.Data.GetProperty("requestId").GetString());
        Assert.Equal("request.completed", envelope.EventType);
    }

    [Fact]
    public void Base64_data_and_custom_types_are_understood()
    {
        var data = Convert.ToBase64String("""{"reviewId":"rv"}"""u8.ToArray());
        using var document = JsonDocument.Parse($$"""{"id":"e2","type":"daprllm.review.created.v1","source":"safety","data_base64":"{{data}}"}""");
        Assert.True(CloudEventEnvelope.TryParse(document.RootElement, "review.created", out var envelope, out _));
        Assert.Equal("rv", envelope!.Data.GetProperty("reviewId").GetString());
        Assert.Equal("daprllm.review.created.v1", envelope.EventType);
    }

    [Fact]
    public void Data_base64_that_is_not_base64_is_refused_so_the_event_is_dropped_not_redelivered_forever()
    {
        using var document = JsonDocument.Parse("""{"id":"e3","type":"t","source":"s","data_base64":"%%%"}""");
        Assert.False(CloudEventEnvelope.TryParse(document.RootElement, "t", out _, out var error));
        Assert.Contains("not base64", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_without_an_id_is_refused()
    {
        using var document = JsonDocument.Parse("""{"type":"x","data":{}}""");
        Assert.False(CloudEventEnvelope.TryParse(document.RootElement, "t", out _, out var error));
        Assert.Contains("no id", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("evt\\u0000nul")]
    [InlineData("evt\\u0007bell")]
    public void An_id_with_a_control_character_is_refused(string jsonId)
    {
        using var document = JsonDocument.Parse("{\"id\":\"" + jsonId + "\",\"type\":\"t\",\"source\":\"s\"}");
        Assert.False(CloudEventEnvelope.TryParse(document.RootElement, "t", out _, out var error));
        Assert.Contains("control character", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"e\ud800","data":{}}""")]
    [InlineData("""{"id":"e5","source":"s\udc00","data":{}}""")]
    [InlineData("""{"id":"e6","data":{"messages":[{"content":"a\ud83d b"}]}}""")]
    [InlineData("""{"id":"e7","data":{"n\ud800":1}}""")]
    public void An_event_with_a_lone_surrogate_anywhere_is_refused_instead_of_failing_every_delivery(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.False(CloudEventEnvelope.TryParse(document.RootElement, "t", out _, out var error));
        Assert.Contains("lone surrogate", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_type_and_source_are_replaced_so_the_event_is_still_stored()
    {
        using var document = JsonDocument.Parse("""{"id":"e4","type":"a\u0000b","source":"s\u001f","data":{"text":"a\ud83d\ude00 b"}}""");
        Assert.True(CloudEventEnvelope.TryParse(document.RootElement, "t", out var envelope, out _));
        Assert.Equal("a\uFFFDb", envelope!.Type);
        Assert.Equal("s\uFFFD", envelope.Source);
    }
}
