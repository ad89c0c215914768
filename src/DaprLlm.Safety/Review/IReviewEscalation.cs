namespace DaprLlm.Safety.Review;

/// <summary>Sends content the moderation layers could not decide to human review; returns the review id.</summary>
public interface IReviewEscalation
{
    Task<string> EscalateAsync(ReviewEscalation item, CancellationToken cancellationToken);
}
