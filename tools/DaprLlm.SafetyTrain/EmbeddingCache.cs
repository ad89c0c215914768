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
    public static float[][] Embed(IReadOnlyList<string> texts, EmbeddingManifest embedding, string directory, TextWriter log)
    {
        var maxTokens = embedding.MaxTokens;
        var graph = embedding.File is null ? "" : "-" + Path.GetFileNameWithoutExtension(embedding.File);
        var path = Path.Combine(Path.GetTempPath(), $"daprllm-safety-embeddings-{maxTokens}{graph}.bin");
        var cache = Read(path);
        var keys = texts.Select(Key).ToArray();
        var missing = Enumerable.Range(0, texts.Count).Where(i => !cache.ContainsKey(keys[i])).DistinctBy(i => keys[i])
            .OrderBy(i => texts[i].Length).ToArray();
        if (missing.Length > 0)
        {
            log.WriteLine($"embedding {missing.Length} texts ({cache.Count} cached)");
            using var embedder = new SentenceEmbedder(new SentenceEmbedderOptions
            {
                MaxTokens = maxTokens,
                MaxBatchSize = 32,
                IntraOpThreads = 2,
                ModelPath = embedding.File is null ? null : Path.Combine(directory, embedding.File),
            });
            for (var start = 0; start < missing.Length; start += 512)
            {
                var chunk = missing.Skip(start).Take(512).ToArray();
                var batch = embedder.Embed(chunk.Select(i => texts[i]).ToList());
                for (var j = 0; j < chunk.Length; j++)
                {
                    cache[keys[chunk[j]]] = batch.Vectors[j];
                }
            }

            Write(path, cache);
        }

        return [.. keys.Select(k => cache[k])];
    }

    private static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static Dictionary<string, float[]> Read(string path)
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
            var vector = new float[SentenceEmbedder.Dimensions];
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
