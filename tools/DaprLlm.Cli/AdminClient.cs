using System.Net.Http.Json;
using System.Text.Json;

namespace DaprLlm.Cli;

/// <summary>An admin API call's answer: status, body, and the API's error message when it failed.</summary>
public sealed record AdminResponse(int Status, string Body)
{
    public bool Ok => Status is >= 200 and < 300;

    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    public string ErrorMessage
    {
        get
        {
            try
            {
                return Json.GetProperty("error").GetProperty("message").GetString() ?? Body;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return Body.Length == 0 ? $"HTTP {Status}" : Body;
            }
        }
    }
}

/// <summary>HTTP client of an app's admin API (header X-Admin-Key).</summary>
public sealed class AdminClient(string baseAddress, string adminKey) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseAddress.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };

    public Task<AdminResponse> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<AdminResponse> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    private async Task<AdminResponse> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/')) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Admin-Key", adminKey);
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            return new AdminResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (HttpRequestException e)
        {
            return new AdminResponse(0, JsonSerializer.Serialize(new { error = new { message = $"cannot reach {_http.BaseAddress}: {e.Message}" } }));
        }
    }

    public void Dispose() => _http.Dispose();
}
