using System.Security.Cryptography;
using System.Text;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Models;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// MiniLM embeddings of the training texts, cached on disk by text hash and token limit: embedding 30k texts on
/// two shared cores takes minutes, and repeated training runs (other seeds, thresholds) need not pay it again.
/// </summary>
internal static class EmbeddingCache
{
    public static float[][] Embed(IReadOnlyList<string> texts, EmbeddingManifest embedding, int threads, string directory, TextWriter log)
    {
        var maxTokens = embedding.MaxTokens;
        var graph = embedding.File is null ? "" : "-" + Path.GetFileNameWithoutExtension(embedding.File);
        var pooling = embedding.Pooling is null or "mean" ? "" : "-" + embedding.Pooling;
        var path = Path.Combine(Path.GetTempPath(), $"daprllm-safety-embeddings-{maxTokens}{graph}{pooling}-single.bin");
        var cache = Read(path, embedding.Length);
        var keys = texts.Select(Key).ToArray();
        var missing = Enumerable.Range(0, texts.Count).Where(i => !cache.ContainsKey(keys[i])).DistinctBy(i => keys[i])
            .OrderBy(i => texts[i].Length).ToArray();
        if (missing.Length > 0)
        {
            log.WriteLine($"embedding {missing.Length} texts ({cache.Count} cached)");
            // The serving embedder (one text per call, one thread), --threads of them in parallel: batched calls would give
            // other vectors than the service computes (the int8 graph's activation scale is per call).
            using var embedder = LinearSafetyModel.CreateEmbedder(embedding, directory);
            var vectors = new float[missing.Length][];
            Parallel.For(0, missing.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, j => vectors[j] = embedder.Embed(texts[missing[j]]));
            for (var j = 0; j < missing.Length; j++)
            {
                cache[keys[missing[j]]] = vectors[j];
            }

            Write(path, cache);
        }

        return [.. keys.Select(k => cache[k])];
    }

    private static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static Dictionary<string, float[]> Read(string path, int length)
    {
        var cache = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return cache;
        }

        using var reader = new BinaryReader(File.OpenRead(path));
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            var vector = new float[length];
            for (var d = 0; d < vector.Length; d++)
            {
                vector[d] = reader.ReadSingle();
            }

            cache[key] = vector;
        }

        return cache;
    }

    private static void Write(string path, Dictionary<string, float[]> cache)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(cache.Count);
        foreach (var (key, vector) in cache)
        {
            writer.Write(key);
            foreach (var value in vector)
            {
                writer.Write(value);
            }
        }
    }
}
