namespace DaprLlm.Safety.Review;

/// <summary>Which side of a request a review holds; part of the review id (<see cref="ReviewService.IdFor"/>).</summary>
public static class ReviewDirections
{
    public const string Input = "input";
    public const string Output = "output";

    public static readonly IReadOnlyList<string> All = [Input, Output];
}
