namespace DaprLlm.Safety.Review;

/// <summary>
/// Tells open reviewer pages that the queue changed, so they reload it at once. Raised by local changes and by
/// the review.created / review.decided events (changes made by another replica of the app).
/// </summary>
public sealed class ReviewQueueNotifier
{
    public event Action? Changed;

    public void Notify() => Changed?.Invoke();
}
