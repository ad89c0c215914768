using System.Buffers;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Classification.Features;

/// <summary>
/// Turns text into hashed word unigrams, word bigrams and character 3–5-grams of each word (fastText-style, with
/// word boundaries), weighted 1 + log(count) and L2-normalised. Runs on the rule layer's folded skeleton, so
/// case, look-alikes and leetspeak do not change the features: "k1ll" and "KILL" are the same word to the model.
/// </summary>
/// <remarks>Hashing (FNV-1a, fixed seeds) needs no vocabulary file and is identical in training and serving.</remarks>
public sealed class HashedTextFeaturizer
{
    private const uint UnigramSeed = 0x9E3779B1;
    private const uint BigramSeed = 0x85EBCA77;
    private const uint CharGramSeed = 0xC2B2AE3D;
    private const int MaxWordLength = 24;

    public HashedTextFeaturizer(int bits, int maxChars)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 10);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 24);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 64);
        Bits = bits;
        MaxChars = maxChars;
    }

    /// <summary>log2 of the number of hash buckets.</summary>
    public int Bits { get; }

    /// <summary>Only this many leading characters of the folded text are featurized, which bounds the cost per text.</summary>
    public int MaxChars { get; }

    public int Dimension => 1 << Bits;

    public SparseVector Featurize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var folded = TextNormalizer.Matching.Normalize(text.Length > MaxChars * 2 ? text[..(MaxChars * 2)] : text).Text;
        var span = folded.AsSpan(0, Math.Min(folded.Length, MaxChars));
        var mask = (uint)(Dimension - 1);
        var buffer = ArrayPool<int>.Shared.Rent(span.Length * 4 + 16);
        try
        {
            var count = 0;
            uint previousWord = 0;
            var hasPrevious = false;
            var i = 0;
            while (i < span.Length)
            {
                if (!char.IsLetterOrDigit(span[i]))
                {
                    i++;
                    continue;
                }

                var start = i;
                while (i < span.Length && (char.IsLetterOrDigit(span[i]) || (span[i] == '\'' && i + 1 < span.Length && char.IsLetter(span[i + 1]))))
                {
                    i++;
                }

                var word = span[start..i];
                var wordHash = Hash(UnigramSeed, word);
                Ensure(ref buffer, count + 3 + 3 * (word.Length + 2));
                buffer[count++] = (int)(Mix(wordHash) & mask);
                if (hasPrevious)
                {
                    buffer[count++] = (int)(Mix(previousWord * 31 + wordHash + BigramSeed) & mask);
                }

                previousWord = wordHash;
                hasPrevious = true;
                if (word.Length <= MaxWordLength)
                {
                    count = AddCharGrams(word, buffer, count, mask);
                }
            }

            return ToVector(buffer.AsSpan(0, count));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(buffer);
        }
    }

    private static void Ensure(ref int[] buffer, int needed)
    {
        if (needed <= buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<int>.Shared.Rent(needed * 2);
        buffer.AsSpan().CopyTo(larger);
        ArrayPool<int>.Shared.Return(buffer);
        buffer = larger;
    }

    // Grams of "<word>" of length 3..5, so prefixes and suffixes are features of their own.
    private static int AddCharGrams(ReadOnlySpan<char> word, int[] buffer, int count, uint mask)
    {
        var padded = word.Length + 2;
        for (var n = 3; n <= 5; n++)
        {
            for (var start = 0; start + n <= padded; start++)
            {
                var h = 2166136261u ^ CharGramSeed ^ (uint)n;
                for (var k = start; k < start + n; k++)
                {
                    var c = k == 0 ? '<' : k == padded - 1 ? '>' : word[k - 1];
                    h = (h ^ c) * 16777619u;
                }

                buffer[count++] = (int)(Mix(h) & mask);
            }
        }

        return count;
    }

    private static SparseVector ToVector(Span<int> hashes)
    {
        if (hashes.Length == 0)
        {
            return new SparseVector([], []);
        }

        hashes.Sort();
        var distinct = 1;
        for (var i = 1; i < hashes.Length; i++)
        {
            if (hashes[i] != hashes[i - 1])
            {
                distinct++;
            }
        }

        var indices = new int[distinct];
        var values = new float[distinct];
        var j = 0;
        var run = 1;
        double norm = 0;
        for (var i = 1; i <= hashes.Length; i++)
        {
            if (i < hashes.Length && hashes[i] == hashes[i - 1])
            {
                run++;
                continue;
            }

            var value = 1 + MathF.Log(run);
            indices[j] = hashes[i - 1];
            values[j++] = value;
            norm += value * value;
            run = 1;
        }

        var scale = (float)(1 / Math.Sqrt(norm));
        for (var i = 0; i < values.Length; i++)
        {
            values[i] *= scale;
        }

        return new SparseVector(indices, values);
    }

    private static uint Hash(uint seed, ReadOnlySpan<char> chars)
    {
        var h = 2166136261u ^ seed;
        foreach (var c in chars)
        {
            h = (h ^ c) * 16777619u;
        }

        return h;
    }

    // Murmur3's finaliser: FNV's low bits alone are too regular for a power-of-two table.
    private static uint Mix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6B;
        h ^= h >> 13;
        h *= 0xC2B2AE35;
        h ^= h >> 16;
        return h;
    }
}
