namespace DaprLlm.Inference.Batching;

/// <summary>One request's place in the running batch: its KV length, padding and next input token.</summary>
internal sealed class BatchRow(GenerationJob job, TextAccumulator text)
{
    public GenerationJob Job { get; } = job;

    public TextAccumulator Text { get; } = text;

    /// <summary>Positions in this row's KV history (prompt + fed tokens).</summary>
    public int Length { get; set; }

    /// <summary>Leading pad positions of this row in the batch KV tensors.</summary>
    public int Pad { get; set; }

    public int BatchIndex { get; set; } = -1;

    /// <summary>The token fed at the next step (the last one sampled).</summary>
    public int NextToken { get; set; }

    public int CompletionTokens { get; set; }

    /// <summary>Finished (stop, length, cancelled); the row is dropped at the next compaction.</summary>
    public bool Done { get; set; }

    /// <summary>Whether this row's batch slot went back to the scheduler (exactly once per row).</summary>
    public bool SlotReleased { get; set; }

    /// <summary>The prefill group this row came from, until the row is merged into the batch.</summary>
    public PrefillGroup? Pending { get; set; }

    /// <summary>This row's index in <see cref="Pending"/>.</summary>
    public int PendingIndex { get; set; }
}
