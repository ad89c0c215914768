using System.Text;
using System.Text.RegularExpressions;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

/// <summary>
/// The PERSON recognizer tries its capitalised-run pattern, anchored, only at upper-case letters that the pattern's
/// lookbehind allows. These tests hold that search to the unanchored pattern enumerated over the whole text, on ASCII
/// and on text with letters of other scripts, title-case and modifier letters, surrogate pairs and other numbers.
/// </summary>
public sealed class CapitalisedRunSearchTests
{
    private static readonly Regex Oracle = new(PersonNameRecognizer.CapitalisedRunPattern, RegexOptions.CultureInvariant);

    private static readonly string[] Pieces =
    [
        "John", "Smith", "MacDonald", "O'Brien", "Jean-Pierre", "McDONALD", "JOHN", "J.", "J", "A", "I", "De", "van",
        "the", "is", "met", "Élodie", "Şükrü", "ÖZTÜRK", "Σωκράτης", "Жанна", "ǅenan", "ǅ", "Aª", "Bʰo", "中文", "Xi",
        "𝐀lex", "Ann𝐀", "x2", "Ab2", "Ab٣", "Ab²", "Cd⅓", "a@B", "Mail@Bob", "e.Ann", "St.", "Dr.", "’s", "'", "-", "Ann’s",
    ];

    private static readonly string[] Separators = [" ", " ", " ", "  ", "\t", "\n", ", ", ". ", ".", "", "-", "@", "1", " \t "];

    [Fact]
    public void Random_texts_get_the_matches_of_the_unanchored_pattern()
    {
        var random = new Random(20261201);
        var withMatches = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var text = new StringBuilder();
            var pieces = random.Next(1, 12);
            for (var p = 0; p < pieces; p++)
            {
                text.Append(Pieces[random.Next(Pieces.Length)]).Append(Separators[random.Next(Separators.Length)]);
            }

            withMatches += AssertSameMatches(text.ToString()) > 0 ? 1 : 0;
        }

        Assert.True(withMatches > 10_000, $"only {withMatches} texts had a capitalised run: the generator no longer tests much");
    }

    [Theory]
    [InlineData("")]
    [InlineData("no capitals here at all")]
    [InlineData("Dear Mr. John A. Smith Jr, meet Élodie Durand and ŞÜKRÜ Öztürk at 12 Main Street.")]
    [InlineData("JOHNSMITH xYz Ab.Cd ann@Bob.Com Jean-Pierre Dupont-Moretti O’Neil")]
    public void Fixed_texts_get_the_matches_of_the_unanchored_pattern(string text) => AssertSameMatches(text);

    private static int AssertSameMatches(string text)
    {
        var expected = new List<(int, int)>();
        foreach (var match in Oracle.EnumerateMatches(text))
        {
            expected.Add((match.Index, match.Length));
        }

        var actual = new List<(int, int)>();
        var ascii = Ascii.IsValid(text);
        var position = 0;
        while (PersonNameRecognizer.NextCapitalisedRun(text, position, ascii, out var index, out var length))
        {
            actual.Add((index, length));
            position = index + length;
        }

        Assert.True(expected.SequenceEqual(actual), $"matches differ on: {text}");
        return expected.Count;
    }
}
