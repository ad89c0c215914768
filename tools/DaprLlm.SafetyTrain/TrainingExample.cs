using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Features;

namespace DaprLlm.SafetyTrain;

/// <summary>One training row: its source file, features, a label per trained head (-1 = unknown) and a sample weight.</summary>
internal sealed class TrainingExample(string source, LabelledRow row, sbyte[] labels, float weight)
{
    public string Source { get; } = source;

    public LabelledRow Row { get; } = row;

    public sbyte[] Labels { get; } = labels;

    public float Weight { get; } = weight;

    public SparseVector Features { get; set; } = null!;

    public int Fold { get; set; }
}
