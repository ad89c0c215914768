using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class SafeRegexRulesTests
{
    [Fact]
    public void Reports_matches_with_the_rule_name_and_original_span()
    {
        var rules = new SafeRegexRules([new RegexRule("order-id", @"ord-\d{6}")]);
        var text = "Refund ORD-123456 please";

        var hit = Assert.Single(rules.Match(text));

        Assert.Equal(RuleKind.Regex, hit.Kind);
        Assert.Equal("order-id", hit.Name);
        Assert.Equal("ORD-123456", text[hit.Span.Start..hit.Span.End]);
    }

    [Fact]
    public void Matches_through_zero_width_characters_and_full_width_digits()
    {
        var rules = new SafeRegexRules([new RegexRule("order-id", @"ord-\d{6}")]);
        var text = "Refund O\u200BRD-１２３４５６ please";

        var hit = Assert.Single(rules.Match(text));

        Assert.Equal("O\u200BRD-１２３４５６", text[hit.Span.Start..hit.Span.End]);
    }

    [Fact]
    public void Catastrophic_backtracking_pattern_completes_on_a_long_adversarial_input()
    {
        var rules = new SafeRegexRules(
        [
            new RegexRule("nested-quantifier", "(a+)+$"),
            new RegexRule("alternation", "^(a|aa)+$"),
            new RegexRule("overlapping", "(a|a?)+b"),
        ]);
        var text = new string('a', 50_000) + "!";

        var hits = rules.Match(text);

        Assert.Empty(hits);
    }

    [Theory]
    [InlineData("(unclosed", "invalid syntax")]
    [InlineData("[z-a]", "invalid syntax")]
    [InlineData(@"(a)\1", "linear-time engine")]
    [InlineData("(?=secret)s", "linear-time engine")]
    [InlineData("(?>atomic)", "linear-time engine")]
    [InlineData("a*", "empty string")]
    [InlineData("", "empty")]
    public void Rejects_unusable_patterns_with_a_clear_error(string pattern, string reason)
    {
        var error = Assert.Throws<InvalidRegexRuleException>(() => new SafeRegexRules([new RegexRule("tenant-rule", pattern)]));

        Assert.Equal("tenant-rule", error.RuleName);
        Assert.Contains("tenant-rule", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_duplicate_rule_names()
    {
        Assert.Throws<InvalidRegexRuleException>(() => new SafeRegexRules([new RegexRule("r", "a"), new RegexRule("r", "b")]));
    }

    [Fact]
    public void Bounds_the_hits_of_one_rule()
    {
        var rules = new SafeRegexRules([new RegexRule("letter", "a")]);

        Assert.Equal(SafeRegexRules.MaxHitsPerRule, rules.Match(new string('a', 1000)).Count);
    }
}
