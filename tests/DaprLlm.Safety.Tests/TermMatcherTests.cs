using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class TermMatcherTests
{
    private static readonly TermMatcher Matcher = new(
        denyTerms: ["bomb", "kill yourself", "credit card dump"],
        allowTerms: ["bath bomb", "photo bomb"]);

    [Fact]
    public void Finds_a_deny_term_and_reports_its_original_span()
    {
        var text = "How do I build a bomb?";

        var hit = Assert.Single(Matcher.Match(text));

        Assert.Equal(RuleKind.DenyTerm, hit.Kind);
        Assert.Equal("bomb", hit.Name);
        Assert.Equal("bomb", text[hit.Span.Start..hit.Span.End]);
    }

    [Fact]
    public void Matches_whole_words_only()
    {
        Assert.Empty(Matcher.Match("What a bombastic speech about the bombe machine."));
    }

    [Fact]
    public void Finds_every_term_in_one_pass()
    {
        var hits = Matcher.Match("a bomb, then kill yourself, then a credit card dump");

        Assert.Equal(new[] { "bomb", "kill yourself", "credit card dump" }, hits.Select(h => h.Name));
    }

    [Fact]
    public void An_overlapping_allow_term_suppresses_the_deny_hit()
    {
        Assert.Empty(Matcher.Match("I bought a lavender bath bomb."));
    }

    [Fact]
    public void An_allow_term_elsewhere_does_not_suppress_a_deny_hit()
    {
        var hit = Assert.Single(Matcher.Match("A bath bomb is nice; a bomb is not."));

        Assert.Equal(new TextSpan(23, 27), hit.Span);
    }

    [Theory]
    [InlineData("BOMB")]
    [InlineData("b0mb")]
    [InlineData("bоmb")] // Cyrillic о
    [InlineData("ｂｏｍｂ")] // full width
    [InlineData("b\u200Bomb")] // zero-width space
    [InlineData("bo\u200Dmb")] // zero-width joiner
    [InlineData("b\u00ADomb")] // soft hyphen
    [InlineData("bo\u0308mb")] // combining diaeresis
    [InlineData("bömb")] // precomposed
    public void Sees_through_obfuscated_spellings(string disguised)
    {
        var text = $"build a {disguised} now";

        var hit = Assert.Single(Matcher.Match(text));

        Assert.Equal(disguised, text[hit.Span.Start..hit.Span.End]);
    }

    [Theory]
    [InlineData("k1ll y0urself")]
    [InlineData("ki11   yourself")]
    [InlineData("KILL\nYOURSELF")]
    public void Matches_multi_word_terms_across_leetspeak_and_whitespace(string disguised)
    {
        var hit = Assert.Single(Matcher.Match($"just {disguised}!"));

        Assert.Equal("kill yourself", hit.Name);
        Assert.Equal(new TextSpan(5, 5 + disguised.Length), hit.Span);
    }

    [Fact]
    public void Reports_spans_correctly_after_emoji()
    {
        var text = "💣👨\u200D👩\u200D👧 bomb 💣";

        var hit = Assert.Single(Matcher.Match(text));

        Assert.Equal("bomb", text[hit.Span.Start..hit.Span.End]);
    }

    [Fact]
    public void Terms_are_normalized_like_the_text()
    {
        var matcher = new TermMatcher(["Ｈ4ＣＫ"]);

        Assert.Single(matcher.Match("time to hack"));
    }

    [Fact]
    public void A_term_on_both_lists_is_allowed()
    {
        var matcher = new TermMatcher(denyTerms: ["gun"], allowTerms: ["GUN"]);

        Assert.Empty(matcher.Match("a gun"));
    }

    [Fact]
    public void Rejects_blank_terms()
    {
        Assert.Throws<ArgumentException>(() => new TermMatcher(["ok", " "]));
        Assert.Throws<ArgumentException>(() => new TermMatcher(["\u200B"]));
    }

    [Fact]
    public void Finds_overlapping_deny_terms_sharing_a_suffix()
    {
        var matcher = new TermMatcher(["he", "she", "hers", "his"]);

        var hits = matcher.Match("ushers");

        Assert.Empty(hits); // whole words only: none of them is a word in "ushers"
        Assert.Equal(new[] { "she", "he", "hers" }, new TermMatcher(["he", "she", "hers"]).Match("she he hers").Select(h => h.Name));
    }

    [Fact]
    public void Empty_matcher_finds_nothing()
    {
        Assert.Empty(TermMatcher.Empty.Match("anything at all"));
    }
}
