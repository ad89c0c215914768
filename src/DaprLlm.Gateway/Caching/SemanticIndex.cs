using System.Numerics;
using System.Numerics.Tensors;

namespace DaprLlm.Gateway.Caching;

/// <summary>
/// Nearest-neighbour index for the semantic cache: one flat partition per key (tenant, model, ...), so a lookup
/// never sees another tenant's vectors. A lookup scans the partition's 1-bit sign codes (Hamming distance, a few
/// popcounts per entry) to keep the closest <c>candidates</c>, then reranks those by exact cosine similarity
/// (TensorPrimitives.Dot on unit vectors). At 384 dimensions that is 6 ulongs per entry in the scan, which keeps a
/// 100,000-entry partition well under a millisecond. Each partition is a bounded ring: when full, the oldest
/// entry is overwritten, so memory does not grow with traffic. Expired entries are swept now and then (their slots
/// reused, their count given back to the global cap) and a partition left with no live entry is dropped, so a run
/// of one-off partitions (tenants, system prompts) cannot hold the cap or memory for good.
/// </summary>
public sealed class SemanticIndex<T>(int maxEntriesPerPartition, int maxEntries, int candidates, TimeSpan? sweepInterval = null)
    where T : class
{
    private readonly Dictionary<string, Partition> _partitions = new(StringComparer.Ordinal);
    private readonly long _sweepTicks = (sweepInterval ?? TimeSpan.FromSeconds(30)).Ticks;
    private int _total;
    private long _lastSweep;
    private int _sweeping;

    /// <summary>Partitions held (live or not yet swept).</summary>
    public int PartitionCount
    {
        get
        {
            lock (_partitions)
            {
                return _partitions.Count;
            }
        }
    }

    /// <summary>Live entries over all partitions.</summary>
    public int Count => Volatile.Read(ref _total);

    /// <summary>A match: the stored value, its similarity, and where it is (for <see cref="Remove"/>).</summary>
    public readonly record struct Match(T Value, float Similarity, string Partition, int Slot);

    /// <summary>Stores a vector (any length; it is normalized here) with its value until <paramref name="expires"/>.</summary>
    public void Add(string partition, ReadOnlySpan<float> vector, T value, DateTimeOffset expires, DateTimeOffset now)
    {
        if (vector.Length == 0)
        {
            return;
        }

        var nowTicks = now.UtcTicks;
        var sinceSweep = nowTicks - Interlocked.Read(ref _lastSweep);
        if (sinceSweep >= _sweepTicks || (Count >= maxEntries && sinceSweep >= TimeSpan.TicksPerSecond))
        {
            Sweep(nowTicks);
        }

        while (true)
        {
            Partition p;
            lock (_partitions)
            {
                if (!_partitions.TryGetValue(partition, out p!))
                {
                    _partitions[partition] = p = new Partition(vector.Length, maxEntriesPerPartition);
                }
            }

            if (p.Dimensions != vector.Length)
            {
                return; // a different embedding model answered: never compare vectors of different spaces
            }

            p.Gate.EnterWriteLock();
            try
            {
                if (p.Dropped)
                {
                    continue; // swept away between the lookup and the lock: make or find its successor
                }

                var added = p.Add(vector, value, expires.UtcTicks, nowTicks, allowGrow: Count < maxEntries);
                Interlocked.Add(ref _total, added);
                return;
            }
            finally
            {
                p.Gate.ExitWriteLock();
            }
        }
    }

    /// <summary>
    /// Frees every expired entry and drops partitions with no live entry left. An add runs it once per sweep interval,
    /// and once a second while the global cap is reached (a sweep is what relieves it); one caller at a time.
    /// </summary>
    public void Sweep(long nowTicks)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            Interlocked.Exchange(ref _lastSweep, nowTicks);
            KeyValuePair<string, Partition>[] all;
            lock (_partitions)
            {
                all = [.. _partitions];
            }

            foreach (var (key, p) in all)
            {
                p.Gate.EnterWriteLock();
                try
                {
                    Interlocked.Add(ref _total, -p.FreeExpired(nowTicks));
                    if (p.Live == 0)
                    {
                        p.Dropped = true;
                        lock (_partitions)
                        {
                            _partitions.Remove(key);
                        }
                    }
                }
                finally
                {
                    p.Gate.ExitWriteLock();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>The most similar live entry at or above <paramref name="threshold"/>, if any.</summary>
    public Match? Search(string partition, ReadOnlySpan<float> query, float threshold, DateTimeOffset now)
    {
        Partition? p;
        lock (_partitions)
        {
            _partitions.TryGetValue(partition, out p);
        }

        if (p is null || p.Dimensions != query.Length)
        {
            return null;
        }

        var unit = Normalize(query);
        Span<ulong> code = stackalloc ulong[p.Words];
        Encode(unit, code);
        var k = Math.Max(1, candidates);
        Span<int> slots = stackalloc int[k];
        Span<int> distances = stackalloc int[k];

        p.Gate.EnterReadLock();
        try
        {
            var found = p.Nearest(code, slots, distances, now.UtcTicks);
            var best = -1;
            var bestSimilarity = float.NegativeInfinity;
            for (var i = 0; i < found; i++)
            {
                var slot = slots[i];
                var similarity = TensorPrimitives.Dot<float>(unit, p.Vectors.AsSpan(slot * p.Dimensions, p.Dimensions));
                if (similarity > bestSimilarity)
                {
                    bestSimilarity = similarity;
                    best = slot;
                }
            }

            return best >= 0 && bestSimilarity >= threshold ? new Match(p.Values[best]!, bestSimilarity, partition, best) : null;
        }
        finally
        {
            p.Gate.ExitReadLock();
        }
    }

    /// <summary>Removes a matched entry if the slot still holds it.</summary>
    public void Remove(Match match)
    {
        Partition? p;
        lock (_partitions)
        {
            _partitions.TryGetValue(match.Partition, out p);
        }

        if (p is null)
        {
            return;
        }

        p.Gate.EnterWriteLock();
        try
        {
            if (ReferenceEquals(p.Values[match.Slot], match.Value))
            {
                p.Free(match.Slot);
                Interlocked.Decrement(ref _total);
            }
        }
        finally
        {
            p.Gate.ExitWriteLock();
        }
    }

    /// <summary>Removes every entry the predicate selects, in every partition; returns how many.</summary>
    public int RemoveWhere(Func<T, bool> predicate)
    {
        Partition[] all;
        lock (_partitions)
        {
            all = [.. _partitions.Values];
        }

        var removed = 0;
        foreach (var p in all)
        {
            p.Gate.EnterWriteLock();
            try
            {
                for (var slot = 0; slot < p.Used; slot++)
                {
                    if (p.Values[slot] is { } value && predicate(value))
                    {
                        p.Free(slot);
                        removed++;
                    }
                }
            }
            finally
            {
                p.Gate.ExitWriteLock();
            }
        }

        Interlocked.Add(ref _total, -removed);
        return removed;
    }

    private static float[] Normalize(ReadOnlySpan<float> vector)
    {
        var unit = vector.ToArray();
        var norm = TensorPrimitives.Norm<float>(unit);
        if (norm > 0)
        {
            TensorPrimitives.Divide(unit, norm, unit);
        }

        return unit;
    }

    // One bit per dimension: its sign. Close vectors agree on most signs, so Hamming distance ranks candidates.
    private static void Encode(ReadOnlySpan<float> unit, Span<ulong> code)
    {
        code.Clear();
        for (var d = 0; d < unit.Length; d++)
        {
            if (unit[d] > 0)
            {
                code[d >> 6] |= 1UL << (d & 63);
            }
        }
    }

    private sealed class Partition(int dimensions, int max)
    {
        public readonly ReaderWriterLockSlim Gate = new();
        public readonly int Dimensions = dimensions;
        public readonly int Words = (dimensions + 63) / 64;
        public ulong[] Codes = new ulong[((dimensions + 63) / 64) * 16];
        public float[] Vectors = new float[dimensions * 16];
        public T?[] Values = new T?[16];
        public long[] Expires = new long[16];
        public int Used;
        public bool Dropped;
        private readonly Stack<int> _free = new();
        private int _next;

        public int Live => Used - _free.Count;

        // Returns the change in live entries: 1 when the entry is new, 0 when it took the place of another (or was
        // refused), less any expired entries freed to make room.
        public int Add(ReadOnlySpan<float> vector, T value, long expires, long now, bool allowGrow)
        {
            int slot;
            var added = 1;
            if (_free.Count == 0 && (Used >= max || !allowGrow))
            {
                // Full: expired entries make room before a live one is overwritten.
                added -= FreeExpired(now);
            }

            if (_free.Count > 0)
            {
                slot = _free.Pop();
            }
            else if (Used < max && allowGrow)
            {
                if (Used == Values.Length)
                {
                    Grow(Math.Min(max, Values.Length * 2));
                }

                slot = Used++;
            }
            else if (Used > 0)
            {
                // Full: overwrite the oldest slot (slots are filled in order, so the ring pointer walks oldest first).
                slot = _next;
                _next = (_next + 1) % Used;
                added = 0;
            }
            else
            {
                return 0;
            }

            var unit = Normalize(vector);
            unit.CopyTo(Vectors.AsSpan(slot * Dimensions, Dimensions));
            Encode(unit, Codes.AsSpan(slot * Words, Words));
            Values[slot] = value;
            Expires[slot] = expires;
            return added;
        }

        public void Free(int slot)
        {
            Values[slot] = null;
            _free.Push(slot);
        }

        public int FreeExpired(long now)
        {
            var freed = 0;
            for (var slot = 0; slot < Used; slot++)
            {
                if (Values[slot] is not null && Expires[slot] <= now)
                {
                    Free(slot);
                    freed++;
                }
            }

            return freed;
        }

        // The k live slots with the smallest Hamming distance to the code (unordered); returns how many were found.
        // Expired slots are skipped here, not after: copies of a popular prompt re-cached after each expiry would
        // otherwise fill every candidate place and hide the live copy.
        public int Nearest(ReadOnlySpan<ulong> code, Span<int> slots, Span<int> distances, long now)
        {
            var k = slots.Length;
            var filled = 0;
            var worst = int.MaxValue;
            var worstAt = 0;
            var codes = Codes.AsSpan(0, Used * Words);
            var words = Words;
            for (var slot = 0; slot < Used; slot++)
            {
                if (Values[slot] is null || Expires[slot] <= now)
                {
                    continue;
                }

                var row = codes.Slice(slot * words, words);
                var distance = 0;
                for (var w = 0; w < row.Length; w++)
                {
                    distance += BitOperations.PopCount(row[w] ^ code[w]);
                }

                if (filled < k)
                {
                    slots[filled] = slot;
                    distances[filled] = distance;
                    filled++;
                    if (filled == k)
                    {
                        (worst, worstAt) = Worst(distances);
                    }
                }
                else if (distance < worst)
                {
                    slots[worstAt] = slot;
                    distances[worstAt] = distance;
                    (worst, worstAt) = Worst(distances);
                }
            }

            return filled;
        }

        private static (int Worst, int At) Worst(ReadOnlySpan<int> distances)
        {
            var worst = -1;
            var at = 0;
            for (var i = 0; i < distances.Length; i++)
            {
                if (distances[i] > worst)
                {
                    worst = distances[i];
                    at = i;
                }
            }

            return (worst, at);
        }

        private void Grow(int capacity)
        {
            Array.Resize(ref Codes, capacity * Words);
            Array.Resize(ref Vectors, capacity * Dimensions);
            Array.Resize(ref Values, capacity);
            Array.Resize(ref Expires, capacity);
        }
    }
}
