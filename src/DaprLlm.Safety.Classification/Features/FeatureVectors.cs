namespace DaprLlm.Safety.Classification.Features;

/// <summary>Joins the sparse n-gram vector and the dense sentence embedding into one feature vector.</summary>
public static class FeatureVectors
{
    /// <summary>Embedding component i becomes feature <paramref name="offset"/> + i, scaled by <paramref name="scale"/>.</summary>
    public static SparseVector Append(SparseVector sparse, float[]? embedding, int offset, float scale)
    {
        ArgumentNullException.ThrowIfNull(sparse);
        if (embedding is null)
        {
            return sparse;
        }

        var indices = new int[sparse.Count + embedding.Length];
        var values = new float[indices.Length];
        sparse.Indices.CopyTo(indices, 0);
        sparse.Values.CopyTo(values, 0);
        for (var i = 0; i < embedding.Length; i++)
        {
            indices[sparse.Count + i] = offset + i;
            values[sparse.Count + i] = embedding[i] * scale;
        }

        return new SparseVector(indices, values);
    }
}
