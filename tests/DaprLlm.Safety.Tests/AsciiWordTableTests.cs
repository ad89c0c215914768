using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class AsciiWordTableTests
{
    [Fact]
    public void Finds_every_word_in_any_case_and_nothing_else()
    {
        var random = new Random(7);
        string Word() => new([.. Enumerable.Range(0, random.Next(1, 12)).Select(_ => "abcdefghijklmnopqrstuvwxyz'-.0"[random.Next(30)])]);
        var words = new Dictionary<string, WordClass>(StringComparer.Ordinal);
        while (words.Count < 20_000)
        {
            words[Word()] = (WordClass)random.Next(1, 32);
        }

        words["müller"] = WordClass.Name; // not ASCII: left out, Classify looks such words up list by list
        var table = new AsciiWordTable(words);
        Assert.Equal(words.Count - 1, table.Count);
        foreach (var (word, value) in words.Where(static w => w.Key != "müller"))
        {
            foreach (var form in new[] { word, word.ToUpperInvariant(), char.ToUpperInvariant(word[0]) + word[1..] })
            {
                Assert.True(table.TryGetValue(form, out var found), form);
                Assert.Equal(value, found);
            }
        }

        for (var n = 0; n < 20_000; n++)
        {
            var word = Word() + "q";
            Assert.Equal(words.TryGetValue(word, out var expected), table.TryGetValue(word, out var found));
            Assert.Equal(expected, found);
        }

        Assert.False(table.TryGetValue("", out _));
        Assert.False(table.TryGetValue("MÜLLER".ToLowerInvariant(), out _));
    }
}
