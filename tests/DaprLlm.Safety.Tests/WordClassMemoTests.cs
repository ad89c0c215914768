using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class WordClassMemoTests
{
    [Fact]
    public void Memo_answers_what_the_lexicon_answers_for_each_word_with_and_without_its_dot()
    {
        const string text = "Dr. J. Paris Will Okonkwo Müller THE x. Ul. ıN";
        var words = new List<TextSpan>();
        for (var i = 0; i < text.Length;)
        {
            var end = text.IndexOf(' ', i) is var blank and >= 0 ? blank : text.Length;
            words.Add(new TextSpan(i, end));
            i = end + 1;
        }

        var memo = new WordClassMemo();
        memo.Reset(text, words);
        // Ask in both orders and twice, so answers that came from the memo are checked too.
        foreach (var trimFirst in new[] { true, false, true })
        {
            for (var w = 0; w < words.Count; w++)
            {
                foreach (var trim in new[] { trimFirst, !trimFirst })
                {
                    var word = text.AsSpan(words[w].Start, words[w].Length);
                    if (trim)
                    {
                        word = word.TrimEnd('.');
                    }

                    Assert.Equal(NameLexicon.Classify(word), memo.Of(w, trim));
                    Assert.Equal(word.ToString(), memo.Word(w, trim).ToString());
                }
            }
        }
    }

    [Fact]
    public void Reset_forgets_the_previous_run()
    {
        var memo = new WordClassMemo();
        memo.Reset("Paris", [new TextSpan(0, 5)]);
        Assert.Equal(NameLexicon.Classify("Paris"), memo.Of(0, trimDot: false));
        memo.Reset("Okonkwo", [new TextSpan(0, 7)]);
        Assert.Equal(NameLexicon.Classify("Okonkwo"), memo.Of(0, trimDot: false));
    }
}
