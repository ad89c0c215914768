namespace DaprLlm.Sidecar.Actors;

/// <summary>A call to an actor method (or its timer / reminder callback), buffered so it can be forwarded or retried.</summary>
public sealed record ActorCall(
    ActorKey Key,
    string Method,
    byte[] Body,
    string? ContentType,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    int Hops = 0)
{
    /// <summary>Dapr-Reentrancy-Id sent by the caller, if any.</summary>
    public string? ReentrancyId => Headers.FirstOrDefault(h => string.Equals(h.Key, ActorHeaders.ReentrancyId, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>The app's answer to an actor call, passed back to the caller as daprd does (status, headers, body).</summary>
public sealed record ActorCallResult(int StatusCode, byte[] Body, string? ContentType, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    public static ActorCallResult Error(int statusCode, string errorCode, string message) =>
        new(statusCode, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Http.DaprHttpErrors.DaprError(errorCode, message), Http.DaprJson.Options),
            "application/json", []);
}

/// <summary>Header names of the actor protocol.</summary>
public static class ActorHeaders
{
    public const string ReentrancyId = "Dapr-Reentrancy-Id";

    /// <summary>Set by a sidecar that forwards a call to the actor's holder; its value counts hops to stop loops.</summary>
    public const string Forwarded = "X-DaprLlm-Actor-Forwarded";

    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Expect", "TE",
        "Trailer", "Proxy-Connection", "dapr-api-token", Forwarded,
    };

    public static bool ShouldForward(string name) => !NotForwarded.Contains(name) && !name.StartsWith(':');
}
