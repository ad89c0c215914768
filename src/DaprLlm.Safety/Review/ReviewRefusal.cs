namespace DaprLlm.Safety.Review;

/// <summary>Why the review service refused an action.</summary>
public enum ReviewRefusal
{
    NotFound,
    Forbidden,
    AlreadyDecided,
    ClaimedByOther,
    NotClaimed,
    Conflict,
    Invalid,
}

/// <summary>An action the review rules do not allow; the UI and API show <see cref="Exception.Message"/> as is.</summary>
public sealed class ReviewRefusedException(ReviewRefusal reason, string message) : Exception(message)
{
    public ReviewRefusal Reason { get; } = reason;
}
