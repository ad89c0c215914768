namespace DaprLlm.Safety.Rules;

/// <summary>Cheap whole-text checks used to skip patterns that cannot match.</summary>
internal static class TextChars
{
    /// <summary>True when the text has a decimal digit of any script (what the patterns' <c>\d</c> matches).</summary>
    public static bool HasDigit(ReadOnlySpan<char> text)
    {
        if (text.IndexOfAnyInRange('0', '9') >= 0)
        {
            return true;
        }

        // Other scripts' digits are rare: look for them only in text that is not pure ASCII.
        var nonAscii = text.IndexOfAnyExceptInRange('\0', '\u007F');
        if (nonAscii < 0)
        {
            return false;
        }

        foreach (var c in text[nonAscii..])
        {
            if (char.IsDigit(c))
            {
                return true;
            }
        }

        return false;
    }
}
