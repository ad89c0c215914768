namespace DaprLlm.Safety.Rules;

/// <summary>
/// Lower-case ASCII words and their <see cref="WordClass"/>, looked up by a word in any case without copying it:
/// the PERSON and address recognizers ask about nearly every capitalised word of every prompt, and the lookup
/// (lower-cased copy, then a frozen dictionary's hash, buckets and key string) was their largest single cost.
/// </summary>
/// <remarks>
/// Open addressing over one array of packed slots (hash check bits, offset and length of the key in one char array,
/// value), so a lookup touches one slot, and the key chars only when the check bits agree.
/// </remarks>
internal sealed class AsciiWordTable
{
    private const int LengthBits = 8;
    private const int OffsetBits = 28;
    private const int ValueBits = 8;
    private const int CheckShift = LengthBits + OffsetBits + ValueBits; // the remaining 20 bits hold hash check bits

    private readonly ulong[] _slots; // 0 = empty
    private readonly char[] _chars;
    private readonly int _mask;

    public AsciiWordTable(IReadOnlyDictionary<string, WordClass> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var entries = words.Where(static w => w.Key.Length is > 0 and < (1 << LengthBits) && IsLowerAscii(w.Key)).ToList();
        var size = 1;
        while (size < entries.Count * 2)
        {
            size <<= 1; // at most half full: short probe runs
        }

        _slots = new ulong[size];
        _mask = size - 1;
        _chars = new char[entries.Sum(static e => e.Key.Length)];
        var offset = 0;
        foreach (var (word, value) in entries)
        {
            word.CopyTo(_chars.AsSpan(offset));
            var hash = Hash(word);
            var slot = (ulong)(uint)word.Length | ((ulong)(uint)offset << LengthBits) | ((ulong)(byte)value << (LengthBits + OffsetBits))
                | ((ulong)(hash >> (32 - (64 - CheckShift))) << CheckShift);
            var i = (int)hash & _mask;
            while (_slots[i] != 0)
            {
                i = (i + 1) & _mask;
            }

            _slots[i] = slot;
            offset += word.Length;
        }
    }

    public int Count => _slots.Count(static s => s != 0);

    /// <summary>The value of the word compared in lower case; the word must be ASCII.</summary>
    public bool TryGetValue(ReadOnlySpan<char> word, out WordClass value)
    {
        var hash = Hash(word);
        var check = (ulong)(hash >> (32 - (64 - CheckShift)));
        for (var i = (int)hash & _mask; ; i = (i + 1) & _mask)
        {
            var slot = _slots[i];
            if (slot == 0)
            {
                value = WordClass.None;
                return false;
            }

            if (slot >> CheckShift == check && (int)(slot & ((1 << LengthBits) - 1)) == word.Length
                && EqualsLower(word, _chars.AsSpan((int)((slot >> LengthBits) & ((1UL << OffsetBits) - 1)), word.Length)))
            {
                value = (WordClass)(byte)(slot >> (LengthBits + OffsetBits));
                return true;
            }
        }
    }

    // FNV-1a over the lower-cased chars, mixed at the end so the low bits (the slot index) depend on every char.
    private static uint Hash(ReadOnlySpan<char> word)
    {
        var hash = 2166136261u;
        foreach (var c in word)
        {
            hash = (hash ^ Lower(c)) * 16777619u;
        }

        hash ^= hash >> 15;
        hash *= 0x2c1b3c6du;
        return hash ^ (hash >> 12);
    }

    private static bool EqualsLower(ReadOnlySpan<char> word, ReadOnlySpan<char> lowerKey)
    {
        for (var i = 0; i < word.Length; i++)
        {
            if (Lower(word[i]) != lowerKey[i])
            {
                return false;
            }
        }

        return true;
    }

    private static char Lower(char c) => c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;

    private static bool IsLowerAscii(string word)
    {
        foreach (var c in word)
        {
            if (!char.IsAscii(c) || c is >= 'A' and <= 'Z')
            {
                return false;
            }
        }

        return true;
    }
}
