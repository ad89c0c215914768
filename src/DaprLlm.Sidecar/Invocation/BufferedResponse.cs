namespace DaprLlm.Sidecar.Invocation;

/// <summary>An answer read to its end: kept to replay it to the caller, or returned to a gRPC caller.</summary>
public sealed class BufferedResponse
{
    public BufferedResponse(int status, HttpResponseMessage response, byte[] body, string? contentType)
    {
        Status = status;
        Body = body;
        ContentType = contentType;
        var headers = new List<(string, string[])>();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) &&
                !name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals(InvocationHeaders.SidecarError, StringComparison.OrdinalIgnoreCase))
            {
                headers.Add((name, values.ToArray()));
            }
        }

        Headers = headers;
    }

    public int Status { get; }

    public IReadOnlyList<(string Name, string[] Values)> Headers { get; }

    public byte[] Body { get; }

    public string? ContentType { get; }
}
