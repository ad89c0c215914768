using System.Text.Json;

namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>daprd's error body {"errorCode": "...", "message": "..."}, read as JSON (messages may hold escaped characters).</summary>
public sealed record DaprError(string ErrorCode, string Message)
{
    public static async Task<DaprError> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonSerializer.Deserialize<DaprError>(body, TargetEndpoints.Json) ?? new DaprError("", body);
        }
        catch (JsonException)
        {
            return new DaprError("", body);
        }
    }
}
