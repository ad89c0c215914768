namespace DaprLlm.Safety.Classification.Models;

/// <summary>The part of a text the embedding can depend on, so a remote embedder is not sent 200,000 characters for 64 tokens.</summary>
public static class EmbeddingInput
{
    /// <summary>
    /// The shortest prefix, cut at a space, tab or line break, that holds more than <paramref name="maxTokens"/> chunks
    /// with a letter or digit; the whole text when it has fewer. BERT splits at whitespace (those characters and more)
    /// before it splits words into pieces, and a chunk with a letter or digit yields at least one piece, so the prefix's
    /// first <paramref name="maxTokens"/> pieces are the text's: the truncated embedding of the prefix equals the text's.
    /// </summary>
    public static string Prefix(string text, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chunks = 0;
        var counted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is ' ' or '\t' or '\n' or '\r')
            {
                if (chunks > maxTokens)
                {
                    return text[..i];
                }

                counted = false;
            }
            else if (!counted && char.IsLetterOrDigit(c))
            {
                chunks++;
                counted = true;
            }
        }

        return text;
    }
}
