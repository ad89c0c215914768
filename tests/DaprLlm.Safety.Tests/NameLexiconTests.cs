using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class NameLexiconTests
{
    [Theory]
    [InlineData("Paris", "Place, Name")]
    [InlineData("THE", "Common, Stop")]
    [InlineData("Will", "Common, Name")]
    [InlineData("Dr", "Title")]
    [InlineData("Okonkwo", "Name")]
    [InlineData("Müller", "Name")] // not ASCII: looked up list by list
    [InlineData("Tavita", "None")]
    public void Classify_answers_every_word_list_in_one_lookup(string word, string expected)
    {
        Assert.Equal(expected, NameLexicon.Classify(word).ToString());
    }

    [Theory]
    [InlineData("Paris")]
    [InlineData("the")]
    [InlineData("Will")]
    [InlineData("dear")]
    [InlineData("Müller")]
    [InlineData("ıN")] // dotless i: ignoring case it is the stop word "in", lower-cased it is not
    public void Classify_agrees_with_each_list_asked_on_its_own(string word)
    {
        var classes = NameLexicon.Classify(word);

        Assert.Equal(NameLexicon.IsCommon(word), classes.HasFlag(WordClass.Common));
        Assert.Equal(NameLexicon.IsPlace(word), classes.HasFlag(WordClass.Place));
        Assert.Equal(NameLexicon.IsKnownName(word), classes.HasFlag(WordClass.Name));
        Assert.Equal(NameLexicon.IsStop(word), classes.HasFlag(WordClass.Stop));
        Assert.Equal(NameLexicon.IsTitle(word), classes.HasFlag(WordClass.Title));
    }
}
