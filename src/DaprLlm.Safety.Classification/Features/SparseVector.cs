namespace DaprLlm.Safety.Classification.Features;

/// <summary>A feature vector as sorted bucket indices with their values (L2-normalised by the featurizer).</summary>
public sealed class SparseVector(int[] indices, float[] values)
{
    public int[] Indices { get; } = indices;

    public float[] Values { get; } = values;

    public int Count => Indices.Length;
}
