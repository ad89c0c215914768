namespace DaprLlm.Safety.Classification.Policies;

/// <summary>Decision values, ordered by severity; the same strings as ModerationVerdict.Decisions.</summary>
public static class Decisions
{
    public const string Allow = "allow";
    public const string Review = "review";
    public const string Block = "block";

    public static int Severity(string decision) => decision switch
    {
        Block => 2,
        Review => 1,
        _ => 0,
    };

    public static string Worst(string a, string b) => Severity(a) >= Severity(b) ? a : b;
}
