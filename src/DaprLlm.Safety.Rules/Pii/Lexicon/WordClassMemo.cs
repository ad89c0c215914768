namespace DaprLlm.Safety.Rules;

/// <summary>
/// The lexicon classes of the words of one capitalised run, each looked up at most once. The PERSON recognizer asks
/// about the same word up to five times (trimming from either end, extending, the place check, the single-word
/// check); the lookup was the largest single cost of the PII detector.
/// </summary>
internal sealed class WordClassMemo
{
    // Not a combination of WordClass flags: marks a word not looked up yet.
    private const WordClass Unknown = (WordClass)0x80;

    private string _text = "";
    private List<TextSpan> _words = [];

    // Per word: [2i] the word as written, [2i + 1] without trailing dots (an initial "J."); equal for most words.
    private WordClass[] _classes = new WordClass[16];

    public void Reset(string text, List<TextSpan> words)
    {
        _text = text;
        _words = words;
        if (_classes.Length < words.Count * 2)
        {
            _classes = new WordClass[words.Count * 2];
        }

        _classes.AsSpan(0, words.Count * 2).Fill(Unknown);
    }

    public ReadOnlySpan<char> Word(int index, bool trimDot)
    {
        var word = _text.AsSpan(_words[index].Start, _words[index].Length);
        return trimDot ? word.TrimEnd('.') : word;
    }

    /// <summary><see cref="NameLexicon.Classify"/> of the word (without trailing dots when <paramref name="trimDot"/>).</summary>
    public WordClass Of(int index, bool trimDot)
    {
        ref var slot = ref _classes[(2 * index) + (trimDot ? 1 : 0)];
        if (slot == Unknown)
        {
            slot = NameLexicon.Classify(Word(index, trimDot));
            if (!_text.AsSpan(_words[index].Start, _words[index].Length).EndsWith('.'))
            {
                _classes[(2 * index) + (trimDot ? 0 : 1)] = slot; // no dot to trim: both forms are the same word
            }
        }

        return slot;
    }

    /// <summary>A word of two letters or more that the gazetteer knows as a name and not as a stop word or title.</summary>
    public bool IsGazetteerName(int index, bool trimDot) =>
        Word(index, trimDot).Length > 1 && (Of(index, trimDot) & (WordClass.Name | WordClass.Stop | WordClass.Title)) == WordClass.Name;
}
