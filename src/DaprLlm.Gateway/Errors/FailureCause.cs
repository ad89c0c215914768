namespace DaprLlm.Gateway.Errors;

/// <summary>
/// One log-friendly line for a failed background Dapr call. The SDK wraps the useful part (the gRPC status, a refused
/// connection) in its DaprException, so the innermost exception is the one worth naming.
/// </summary>
public static class FailureCause
{
    public static string Describe(Exception e)
    {
        var root = e.GetBaseException();
        return $"{root.GetType().Name}: {root.Message}".ReplaceLineEndings(" ");
    }
}
