namespace DaprLlm.Safety.Rules;

/// <summary>A range of character offsets into the original text; <see cref="End"/> is exclusive.</summary>
public readonly record struct TextSpan(int Start, int End)
{
    public int Length => End - Start;

    public bool Overlaps(TextSpan other) => Start < other.End && other.Start < End;

    public override string ToString() => $"[{Start}..{End})";
}
