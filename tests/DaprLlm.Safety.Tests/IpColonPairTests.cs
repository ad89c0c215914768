using System.Text.RegularExpressions;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

/// <summary>The IPv6 precheck must be exactly "':', up to four hex digits, ':'" (a necessary condition of the v6 pattern).</summary>
public sealed class IpColonPairTests
{
    [Theory]
    [InlineData("fe80::1", true)]
    [InlineData("2001:db8:0:0:0:0:2:1", true)]
    [InlineData("Note: at 12:30 we meet: ok", false)]
    [InlineData("a:12345:b", false)]
    [InlineData("a:1234:b", true)]
    [InlineData("x:abcd", false)]
    [InlineData("::", true)]
    [InlineData("", false)]
    public void Finds_two_colons_with_at_most_four_hex_digits_between(string text, bool expected)
    {
        Assert.Equal(expected, IpAddressRecognizer.HasColonPair(text));
    }

    [Fact]
    public void Agrees_with_the_pattern_on_random_text()
    {
        var reference = new Regex(":[0-9A-Fa-f]{0,4}:", RegexOptions.CultureInvariant);
        const string alphabet = "::0aFfg .9Z\n";
        var random = new Random(11);
        for (var n = 0; n < 20_000; n++)
        {
            var text = new string([.. Enumerable.Range(0, random.Next(0, 14)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            Assert.Equal(reference.IsMatch(text), IpAddressRecognizer.HasColonPair(text));
        }
    }
}
