namespace DaprLlm.Safety.Classification.Policies;

/// <summary>Confidence routing for one category: below <see cref="Allow"/> pass, at or above <see cref="Block"/> refuse, between → human review.</summary>
public sealed record CategoryThresholds(double Allow, double Block)
{
    /// <summary>A reason the thresholds are unusable, or null.</summary>
    public string? Validate() =>
        Allow is < 0 or > 1 || Block is < 0 or > 1 ? "thresholds must lie in [0, 1]"
        : Allow > Block ? "allow must not exceed block"
        : null;
}
