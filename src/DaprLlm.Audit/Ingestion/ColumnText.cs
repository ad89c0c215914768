using System.Text;

namespace DaprLlm.Audit.Ingestion;

/// <summary>
/// Text that goes into a plain column of the trail. PostgreSQL refuses NUL in text, and a lone surrogate cannot be
/// encoded as UTF-8 and would come back changed, failing the record's hash. CloudEvents 1.0 forbids both, and every
/// other control character, in its string attributes.
/// </summary>
public static class ColumnText
{
    public static bool IsClean(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]) || !IsWholeCharacterAt(text, i, out var width))
            {
                return false;
            }

            i += width - 1;
        }

        return true;
    }

    /// <summary>The text with each forbidden character replaced by U+FFFD, so the record can still be stored.</summary>
    public static string Clean(string text)
    {
        if (IsClean(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]) || !IsWholeCharacterAt(text, i, out var width))
            {
                builder.Append('\uFFFD');
                continue;
            }

            builder.Append(text, i, width);
            i += width - 1;
        }

        return builder.ToString();
    }

    private static bool IsWholeCharacterAt(string text, int i, out int width)
    {
        width = 1;
        if (char.IsHighSurrogate(text[i]))
        {
            width = 2;
            return i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
        }

        return !char.IsLowSurrogate(text[i]);
    }
}
