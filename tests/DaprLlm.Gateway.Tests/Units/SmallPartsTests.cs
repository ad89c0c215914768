using System.Text.Json;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>Key format and hashing, the inline moderation parameter, "auto", residency candidates and the breaker.</summary>
public sealed class SmallPartsTests
{
    [Fact]
    public void Generated_keys_parse_and_verify_only_with_the_right_secret_and_pepper()
    {
        var (key, keyId, secret) = ApiKeyFormat.Generate();
        Assert.True(ApiKeyFormat.TryParse(key, out var parsedId, out var parsedSecret));
        Assert.Equal((keyId, secret), (parsedId, parsedSecret));
        var salt = ApiKeyFormat.NewSalt();
        var record = new ApiKeyRecord(keyId, "t", "n", salt, ApiKeyFormat.Hash("pepper", salt, secret), DateTimeOffset.UnixEpoch);
        Assert.True(ApiKeyFormat.Verify("pepper", record, secret));
        Assert.False(ApiKeyFormat.Verify("other-pepper", record, secret));
        Assert.False(ApiKeyFormat.Verify("pepper", record, secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a')));
        Assert.DoesNotContain(secret, JsonSerializer.Serialize(record), StringComparison.Ordinal);
        Assert.Equal(ApiKeyFormat.Split("any-operator-chosen-key").KeyId, ApiKeyFormat.Split("any-operator-chosen-key").KeyId);
    }

    [Theory]
    [InlineData(null, "window", "window")]
    [InlineData("{\"stream_policy\":\"buffer\"}", "window", "buffer")]
    [InlineData("{\"stream_policy\":\"async\"}", "window", null)]
    [InlineData("{\"stream_policy\":\"window\"}", "async", "window")]
    [InlineData("false", "window", null)]
    [InlineData("{\"off\":true}", "window", null)]
    public void Inline_moderation_may_only_make_the_stream_policy_stricter(string? parameter, string tenantPolicy, string? expected)
    {
        JsonElement? value = parameter is null ? null : JsonDocument.Parse(parameter).RootElement;
        Assert.Equal(expected, ModerationParameter.Resolve(value, tenantPolicy));
    }

    [Fact]
    public void Auto_picks_a_bigger_model_for_a_bigger_request_among_the_allowed_ones()
    {
        var options = new ChatOptions { Models = ["small", "large"], AutoTokensPerStep = 1_000 };
        var all = Tenant(allowedModels: []);
        Assert.Equal("small", AutoModel.Pick(options, all, 200));
        Assert.Equal("large", AutoModel.Pick(options, all, 5_000));
        Assert.Equal("small", AutoModel.Pick(options, Tenant(allowedModels: ["small"]), 5_000));
    }

    [Fact]
    public void Residency_candidates_are_the_home_region_first_and_never_outside_the_allowed_regions()
    {
        var router = new InferenceRouter(Options.Create(new RoutingOptions { InferenceByRegion = new() { ["eu"] = "inference-eu", ["us"] = "inference-us" } }));
        Assert.Equal([("eu", "inference-eu")], router.Candidates(Tenant(home: "eu", regions: ["eu"])));
        Assert.Equal([("us", "inference-us"), ("eu", "inference-eu")], router.Candidates(Tenant(home: "us", regions: ["eu", "us"])));
    }

    [Fact]
    public void The_breaker_opens_after_consecutive_failures_falls_back_and_closes_after_a_good_probe()
    {
        var time = new FakeTimeProvider();
        var breaker = new ModelCircuitBreaker(Options.Create(new RoutingOptions
        {
            Fallbacks = new() { ["large"] = "small" }, BreakerFailures = 2, BreakerOpenFor = TimeSpan.FromSeconds(10),
        }), time);
        breaker.Failure("large");
        Assert.Equal("large", breaker.Route("large"));
        breaker.Failure("large");
        Assert.Equal("small", breaker.Route("large"));

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("large", breaker.Route("large")); // the one probe
        Assert.Equal("small", breaker.Route("large")); // others keep falling back meanwhile
        breaker.Success("large");
        Assert.Equal("large", breaker.Route("large"));
    }

    [Fact]
    public void A_probe_that_never_reports_does_not_keep_the_breaker_open_for_ever()
    {
        var time = new FakeTimeProvider();
        var breaker = new ModelCircuitBreaker(Options.Create(new RoutingOptions
        {
            Fallbacks = new() { ["large"] = "small" }, BreakerFailures = 1, BreakerOpenFor = TimeSpan.FromSeconds(10),
        }), time);
        breaker.Failure("large");
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("large", breaker.Route("large")); // a probe whose client goes away: no Success, no Failure

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("small", breaker.Route("large")); // within the open time of the lost probe: still falling back
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("large", breaker.Route("large")); // a new probe
        breaker.Success("large");
        Assert.Equal("large", breaker.Route("large"));
    }

    [Theory]
    [InlineData("large", "small", true)]
    [InlineData("small", "large", false)] // a bigger model
    [InlineData("large", "no-such-model", false)]
    [InlineData("large", "large", false)]
    public void A_fallback_must_be_a_served_model_of_the_same_or_a_lower_tier(string model, string fallback, bool valid)
    {
        var validation = new FallbackValidation(Options.Create(new ChatOptions { Models = ["small", "large"] }));
        var result = validation.Validate(null, new RoutingOptions { Fallbacks = new() { [model] = fallback } });
        Assert.Equal(valid, result.Succeeded);
    }

    private static Tenant Tenant(string home = "eu", string[]? regions = null, string[]? allowedModels = null) =>
        new("t", Tiers.Pro, home, regions ?? [home], allowedModels ?? [], null, Tiers.PolicyWindow, DateTimeOffset.UnixEpoch);
}
