namespace DaprLlm.Contracts;

/// <summary>Pub/sub topic names.</summary>
public static class Topics
{
    /// <summary>A chat or completion request finished (answered or refused); carries <see cref="Events.RequestCompletedV1"/>.</summary>
    public const string RequestCompleted = "request.completed";
}
