using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Models;

namespace DaprLlm.Safety.Tests.Classification;

/// <summary>A manifest's embedding pooling decides the feature length and the embedder the heads are served with.</summary>
public sealed class EmbeddingPoolingManifestTests
{
    [Fact]
    public void A_mean_max_model_is_served_with_768_embedding_features()
    {
        using var shipped = LinearSafetyModel.Load(TestModels.ShippedManifest);
        var manifest = shipped.Manifest with
        {
            FeatureBits = 10,
            Embedding = shipped.Manifest.Embedding! with { MaxTokens = 64, Pooling = EmbeddingManifest.MeanMax },
        };
        Assert.Equal((1 << 10) + 2 * SentenceEmbedder.Dimensions, LinearSafetyModel.WeightCount(manifest));

        // Weights only on the max half of the embedding: a score away from the bias alone proves the max half is served.
        var weights = manifest.Heads.Select(_ =>
        {
            var w = new float[LinearSafetyModel.WeightCount(manifest)];
            w.AsSpan((1 << 10) + SentenceEmbedder.Dimensions).Fill(1f);
            return w;
        }).ToArray();
        using var model = new LinearSafetyModel(manifest, weights, directory: Path.GetDirectoryName(TestModels.ShippedManifest));
        var withoutEmbedding = new LinearSafetyModel(manifest with { Embedding = null }, [.. manifest.Heads.Select(_ => new float[1 << 10])]);

        var scores = model.Score("Write a limerick about a cat who learns to code.");
        var biasOnly = withoutEmbedding.Score("Write a limerick about a cat who learns to code.");
        Assert.NotEqual(biasOnly[manifest.Heads[0].Category], scores[manifest.Heads[0].Category], 6);
    }

    [Fact]
    public void An_unknown_pooling_is_refused()
    {
        var embedding = new EmbeddingManifest(SentenceEmbedder.ModelName, 64, 1, Pooling: "median");

        Assert.Throws<InvalidDataException>(() => embedding.Length);
        Assert.Equal(SentenceEmbedder.Dimensions, (embedding with { Pooling = null }).Length);
    }
}
