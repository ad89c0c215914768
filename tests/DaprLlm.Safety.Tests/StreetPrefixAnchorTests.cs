using System.Buffers;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

/// <summary>
/// The street-prefix anchor walks blanks and looks words up; it must give exactly the positions the case-insensitive
/// needle search it replaced gave (the search is kept here as the reference).
/// </summary>
public sealed class StreetPrefixAnchorTests
{
    private static readonly SearchValues<string> Needles = SearchValues.Create(
        [.. StreetAddressRecognizer.StreetPrefixWords.SelectMany(static w => new[] { w + " ", w + "\t" })], StringComparison.OrdinalIgnoreCase);

    // The replaced search: the first needle occurrence at or after from that no letter or digit precedes.
    private static int Reference(string text, int from)
    {
        while (from <= text.Length)
        {
            var at = text.AsSpan(from).IndexOfAny(Needles);
            if (at < 0)
            {
                return -1;
            }

            var index = from + at;
            if (index == 0 || !char.IsLetterOrDigit(text[index - 1]))
            {
                return index;
            }

            from = index + 1;
        }

        return -1;
    }

    [Theory]
    [InlineData("We met on Via Roma 131 and then via email.")]
    [InlineData("committee Rue de la Gare, xVia Roma, 2Via 3, .Via 4, Ul. Długa 5, ul.\tPiękna 7, Ul.x 8")]
    [InlineData("PRAÇA do Comércio 12, praça x, Náměstí Míru 5, NÁMĚSTÍ Míru, út 4, ÚT 5, tér\t1, Allée x")]
    [InlineData("ſokak 1, SOKAK 2, ſtrada 3, vıa 4, Kelvin: \u212Aadde 5, Rrugа (Cyrillic a) 6, Boulevard\tHaussmann")]
    [InlineData("Via")]
    [InlineData("Via ")]
    [InlineData(" Pod  Floriánem, pod\t\tx, PLAC Wolności 1, plac. 2, Leoforos Kifisias, Boulevardx y")]
    public void Anchors_equal_the_needle_search_from_every_position(string text)
    {
        for (var from = 0; from <= text.Length; from++)
        {
            Assert.Equal(Reference(text, from), StreetAddressRecognizer.NextStreetPrefix(text, from));
        }
    }

    [Fact]
    public void Anchors_equal_the_needle_search_on_random_text_of_street_words_and_tricky_chars()
    {
        string[] pieces = [.. StreetAddressRecognizer.StreetPrefixWords, "via", "VIA", "ul.", "x", "2", ".", ",", "-", "é", "ſ", "ı", "\u212A", "İ", "a", "Ú"];
        string[] gaps = [" ", "\t", "", "  ", "\n", ". "];
        var random = new Random(20261130);
        for (var n = 0; n < 2000; n++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => pieces[random.Next(pieces.Length)] + gaps[random.Next(gaps.Length)]));
            for (var from = 0; from <= text.Length; from++)
            {
                Assert.Equal(Reference(text, from), StreetAddressRecognizer.NextStreetPrefix(text, from));
            }
        }
    }
}
