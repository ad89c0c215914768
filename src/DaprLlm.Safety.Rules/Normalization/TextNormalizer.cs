using System.Buffers;
using System.Globalization;
using System.Text;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Normalizes text before rules run: NFKC, removal of invisible format characters, and the foldings chosen in
/// <see cref="TextFolding"/> (case, diacritics, Cyrillic/Greek look-alikes, leetspeak, whitespace runs).
/// Every output character remembers the original range it came from, so hits are reported in original offsets.
/// </summary>
public sealed class TextNormalizer
{
    // Folds for characters below this are precomputed once: Latin, Greek, Cyrillic and their extended blocks,
    // which is where look-alikes and diacritics live. Above it only case folding applies.
    private const int TableSize = 0x2000;

    // NFKC output of one text element that fits on the stack; a longer one ("ﷺ" is 18 chars) takes the string path.
    private const int ElementBufferSize = 32;

    private readonly char[] _fold;

    public TextNormalizer(TextFolding folding)
    {
        Folding = folding;
        _fold = BuildFoldTable(folding);
    }

    /// <summary>Every folding: the skeleton that deny terms and injection phrases are matched against.</summary>
    public static TextNormalizer Matching { get; } = new(TextFolding.All);

    /// <summary>NFKC and invisible-character removal only: keeps case and digits, which PII validation needs.</summary>
    public static TextNormalizer Light { get; } = new(TextFolding.None);

    public TextFolding Folding { get; }

    private bool Has(TextFolding folding) => (Folding & folding) != 0;

    /// <summary>The normalized view; its map back to original offsets is built only if a caller asks for one.</summary>
    public NormalizedText Normalize(string text) => Normalize(text, trackOffsets: false);

    /// <summary>
    /// With <paramref name="trackOffsets"/> false the map is not written: most texts have no hit to map back, and
    /// the map costs two ints per char. The view then rebuilds it on first use (same text, same map).
    /// </summary>
    internal NormalizedText Normalize(string text, bool trackOffsets)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Folding == TextFolding.None && IsPrintableAscii(text))
        {
            return NormalizedText.Identity(text);
        }

        var output = new Output(text.Length, trackOffsets);
        try
        {
            var i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (c is >= ' ' and < '\u007F')
                {
                    // A run of printable ASCII folds char by char (lower case at most) with no offset change, single
                    // spaces included: copied in one vectorized step. Its last char stays out when non-ASCII follows,
                    // since it may combine with what comes next; a second space in a row is left to the collapsing.
                    var rest = text.AsSpan(i);
                    var run = rest.IndexOfAnyExceptInRange(' ', '~');
                    if (run < 0)
                    {
                        run = rest.Length;
                    }
                    else if (rest[run] >= 0x80)
                    {
                        run--;
                    }

                    if (Has(TextFolding.CollapseWhitespace) && run > 0)
                    {
                        var doubled = rest[..run].IndexOf("  ", StringComparison.Ordinal);
                        if (doubled >= 0)
                        {
                            run = doubled + 1;
                        }

                        if (c == ' ' && output.Length > 0 && output.Chars[output.Length - 1] == ' ')
                        {
                            run = 0;
                        }
                    }

                    if (run > 0)
                    {
                        output.AppendAscii(text.AsSpan(i, run), i, Has(TextFolding.CaseFold));
                        i += run;
                        continue;
                    }
                }

                // ASCII followed by ASCII is a text element of its own (CR LF aside, which is whitespace either
                // way), so the grapheme segmentation and NFKC below are only paid for non-ASCII text.
                if (c < 0x80 && (i + 1 == text.Length || text[i + 1] < 0x80))
                {
                    AppendBmp(ref output, c, i, i + 1);
                    i++;
                    continue;
                }

                var length = StringInfo.GetNextTextElementLength(text.AsSpan(i));
                AppendElement(ref output, text.AsSpan(i, length), i, i + length);
                i += length;
            }

            if (Has(TextFolding.Leetspeak))
            {
                FoldLeetspeak(output.Chars.AsSpan(0, output.Length));
            }

            return output.ToNormalizedText(text, this);
        }
        finally
        {
            output.Return();
        }
    }

    private static bool IsPrintableAscii(string text)
    {
        var span = text.AsSpan();
        int index;
        while ((index = span.IndexOfAnyExceptInRange(' ', '~')) >= 0)
        {
            var c = span[index];
            if (c >= 0x80 || !char.IsWhiteSpace(c))
            {
                return false;
            }

            span = span[(index + 1)..];
        }

        return true;
    }

    private void AppendElement(ref Output output, ReadOnlySpan<char> element, int start, int end)
    {
        // One text element (a base character with its combining marks, an emoji sequence) is normalized as a
        // unit so composition works, and everything it produces maps back to the whole element.
        // Span-based: no string per element (most elements are one char that NFKC leaves alone).
        Span<char> buffer = stackalloc char[ElementBufferSize];
        scoped ReadOnlySpan<char> normalized;
        try
        {
            normalized = element.IsNormalized(NormalizationForm.FormKC) ? element
                : element.TryNormalize(buffer, out var written, NormalizationForm.FormKC) ? buffer[..written]
                : element.ToString().Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            // Unpaired surrogates cannot be normalized; keep them as they are rather than fail the request.
            normalized = element;
        }

        Span<char> pair = stackalloc char[2];
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (rune.IsBmp)
            {
                AppendBmp(ref output, (char)rune.Value, start, end);
                continue;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.Format || (Has(TextFolding.StripDiacritics) && IsMark(category)))
            {
                continue; // tag characters and the like: invisible, used to smuggle text
            }

            var folded = Has(TextFolding.CaseFold) ? Rune.ToLowerInvariant(rune) : rune;
            var written = folded.EncodeToUtf16(pair);
            for (var k = 0; k < written; k++)
            {
                output.Append(pair[k], start, end);
            }
        }
    }

    private void AppendBmp(ref Output output, char c, int start, int end)
    {
        // Printable ASCII is the bulk of every prompt: one table lookup, no Unicode category query.
        if (c is > ' ' and < '\u007F')
        {
            output.Append(_fold[c], start, end);
            return;
        }

        if (char.IsWhiteSpace(c))
        {
            if (!Has(TextFolding.CollapseWhitespace))
            {
                output.Append(c, start, end);
            }
            else if (output.Length > 0 && output.Chars[output.Length - 1] == ' ')
            {
                output.ExtendLast(end); // only whitespace ever yields ' ' here, so this extends the run
            }
            else
            {
                output.Append(' ', start, end);
            }

            return;
        }

        var category = char.GetUnicodeCategory(c);
        if (IsInvisible(c, category) || (Has(TextFolding.StripDiacritics) && IsMark(category)))
        {
            return;
        }

        if (c < TableSize)
        {
            output.Append(_fold[c], start, end);
        }
        else
        {
            output.Append(Has(TextFolding.CaseFold) ? char.ToLowerInvariant(c) : c, start, end);
        }
    }

    private static bool IsMark(UnicodeCategory category) =>
        category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark;

    // Zero-width spaces and joiners, bidi controls, soft hyphens, BOM (all category Cf), stray control characters,
    // and letters that render as nothing (Hangul fillers, grapheme joiner, variation selectors): all of them can be
    // slipped inside a word to split it without changing how it looks.
    private static bool IsInvisible(char c, UnicodeCategory category) =>
        category is UnicodeCategory.Format or UnicodeCategory.Control
        || c is '\u034F' or '\u115F' or '\u1160' or '\u3164' or '\uFFA0'
        || c is >= '\u180B' and <= '\u180D'
        || c is >= '\uFE00' and <= '\uFE0F';

    private static readonly SearchValues<char> LeetChars = SearchValues.Create("013457@$");

    private static void FoldLeetspeak(Span<char> chars)
    {
        // Only these chars are ever rewritten, and only inside runs that also contain a letter ("h4ck", "p@ss"):
        // plain numbers ("911", "$100") stay numbers, which keeps term matching from turning figures into words.
        // Only the runs around a leet char can change, so each is found from one (a vectorized jump) instead of
        // walking every run of the text.
        var i = 0;
        while (i < chars.Length)
        {
            var next = chars[i..].IndexOfAny(LeetChars);
            if (next < 0)
            {
                return;
            }

            // The run holding that char: back to where it starts (not before i, where the previous run ended
            // or a non-run char stood), then forward to its end.
            var runStart = i + next;
            while (runStart > i && IsLeetRunChar(chars[runStart - 1]))
            {
                runStart--;
            }

            i = runStart;
            var hasLetter = false;
            while (i < chars.Length && IsLeetRunChar(chars[i]))
            {
                hasLetter |= char.IsLetter(chars[i]);
                i++;
            }

            if (!hasLetter)
            {
                continue;
            }

            for (var j = runStart; j < i; j++)
            {
                chars[j] = chars[j] switch
                {
                    '0' => 'o',
                    '1' => 'i', // '1' also stands for 'l': the term matcher treats 'l' and 'i' as one letter
                    '3' => 'e',
                    '4' => 'a',
                    '5' => 's',
                    '7' => 't',
                    '@' => 'a',
                    '$' => 's',
                    var other => other,
                };
            }
        }
    }

    private static bool IsLeetRunChar(char c) => char.IsLetterOrDigit(c) || c is '@' or '$';

    private static char[] BuildFoldTable(TextFolding folding)
    {
        var table = new char[TableSize];
        for (var code = 0; code < TableSize; code++)
        {
            var c = (char)code;
            if ((folding & TextFolding.StripDiacritics) != 0 && code >= 0xC0)
            {
                c = BaseLetter(c);
            }

            if ((folding & TextFolding.Confusables) != 0)
            {
                c = ConfusableFolding.ToLatin(c);
            }

            if ((folding & TextFolding.CaseFold) != 0)
            {
                c = char.ToLowerInvariant(c);
            }

            if ((folding & TextFolding.Confusables) != 0)
            {
                c = ConfusableFolding.ToLatin(c);
            }

            table[code] = c;
        }

        return table;
    }

    private static char BaseLetter(char c)
    {
        if (!char.IsLetter(c))
        {
            return c;
        }

        // Letters with a stroke have no decomposition, so canonical decomposition cannot strip them.
        switch (c)
        {
            case 'ø': return 'o';
            case 'Ø': return 'O';
            case 'ł': return 'l';
            case 'Ł': return 'L';
            case 'đ': return 'd';
            case 'Đ': return 'D';
            case 'ħ': return 'h';
            case 'ı': return 'i';
            case 'ŧ': return 't';
        }

        var decomposed = c.ToString().Normalize(NormalizationForm.FormD);
        if (decomposed.Length < 2)
        {
            return c;
        }

        for (var i = 1; i < decomposed.Length; i++)
        {
            if (!IsMark(char.GetUnicodeCategory(decomposed[i])))
            {
                return c;
            }
        }

        return decomposed[0];
    }

    private struct Output
    {
        public char[] Chars;
        public int[]? Starts; // null when offsets are not tracked
        public int[]? Ends;
        public int Length;

        // True while every output char came from the input char at the same offset (plain ASCII with no whitespace
        // run collapsed, the common case): the offsets are not written until that stops, and the view may need none.
        public bool IsIdentityMap;

        public Output(int capacity, bool trackOffsets)
        {
            IsIdentityMap = true;
            capacity = Math.Max(16, capacity);
            Chars = ArrayPool<char>.Shared.Rent(capacity);
            Starts = trackOffsets ? ArrayPool<int>.Shared.Rent(capacity) : null;
            Ends = trackOffsets ? ArrayPool<int>.Shared.Rent(capacity) : null;
            Length = 0;
        }

        public void Append(char c, int start, int end)
        {
            if (Length == Chars.Length)
            {
                Grow();
            }

            if (IsIdentityMap && start == Length && end == Length + 1)
            {
                Chars[Length++] = c;
                return;
            }

            MaterializeMap();
            Chars[Length] = c;
            if (Starts is not null && Ends is not null)
            {
                Starts[Length] = start;
                Ends[Length] = end;
            }

            Length++;
        }

        /// <summary>Makes the last output char cover the original text up to <paramref name="end"/>.</summary>
        public void ExtendLast(int end)
        {
            MaterializeMap();
            if (Ends is not null)
            {
                Ends[Length - 1] = end;
            }
        }

        /// <summary>Appends printable ASCII that maps one to one onto the original text from <paramref name="start"/>.</summary>
        public void AppendAscii(ReadOnlySpan<char> chars, int start, bool lower)
        {
            while (Length + chars.Length > Chars.Length)
            {
                Grow();
            }

            var target = Chars.AsSpan(Length, chars.Length);
            if (lower)
            {
                System.Text.Ascii.ToLower(chars, target, out _);
            }
            else
            {
                chars.CopyTo(target);
            }

            if (IsIdentityMap && start == Length)
            {
                Length += chars.Length;
                return;
            }

            MaterializeMap();
            if (Starts is not null && Ends is not null)
            {
                for (var k = 0; k < chars.Length; k++)
                {
                    Starts[Length + k] = start + k;
                    Ends[Length + k] = start + k + 1;
                }
            }

            Length += chars.Length;
        }

        /// <summary>Writes the identity offsets skipped so far, once the map stops being the identity.</summary>
        public void MaterializeMap()
        {
            if (!IsIdentityMap)
            {
                return;
            }

            if (Starts is not null && Ends is not null)
            {
                for (var k = 0; k < Length; k++)
                {
                    Starts[k] = k;
                    Ends[k] = k + 1;
                }
            }

            IsIdentityMap = false;
        }

        private void Grow()
        {
            // NFKC can expand a character many times over ("ﷺ" becomes 18 characters).
            var capacity = Chars.Length * 2;
            var chars = ArrayPool<char>.Shared.Rent(capacity);
            Chars.AsSpan(0, Length).CopyTo(chars);
            ArrayPool<char>.Shared.Return(Chars);
            Chars = chars;
            if (Starts is not null && Ends is not null)
            {
                var starts = ArrayPool<int>.Shared.Rent(capacity);
                var ends = ArrayPool<int>.Shared.Rent(capacity);
                Starts.AsSpan(0, Length).CopyTo(starts);
                Ends.AsSpan(0, Length).CopyTo(ends);
                ArrayPool<int>.Shared.Return(Starts);
                ArrayPool<int>.Shared.Return(Ends);
                Starts = starts;
                Ends = ends;
            }
        }

        public NormalizedText ToNormalizedText(string original, TextNormalizer normalizer)
        {
            var chars = Chars.AsSpan(0, Length);
            if (IsIdentityMap && Length == original.Length)
            {
                // Nothing changed (NFKC-stable text without invisible characters): the view is the original string.
                return chars.SequenceEqual(original) ? NormalizedText.Identity(original) : new(original, new string(chars), null, null);
            }

            if (Starts is null || Ends is null)
            {
                return new(original, new string(chars), normalizer);
            }

            MaterializeMap();
            return new(original, new string(chars), Starts.AsSpan(0, Length).ToArray(), Ends.AsSpan(0, Length).ToArray());
        }

        public readonly void Return()
        {
            ArrayPool<char>.Shared.Return(Chars);
            if (Starts is not null && Ends is not null)
            {
                ArrayPool<int>.Shared.Return(Starts);
                ArrayPool<int>.Shared.Return(Ends);
            }
        }
    }
}
