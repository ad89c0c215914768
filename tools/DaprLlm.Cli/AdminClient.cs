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

/// <summary>HTTP client of an app's admin API: header X-Admin-Key (audit) or Authorization: Bearer (gateway, safety).</summary>
public sealed class AdminClient(string baseAddress, string adminKey, bool bearer = false) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseAddress.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };

    // A key read from a file often ends in a newline (CRLF from Windows editors): trimmed, as the apps trim what they
    // receive; anything else that a header cannot carry is an operator error said in one line.
    private readonly string _key = adminKey.Trim() is var key && key.Any(char.IsControl)
        ? throw new FormatException("the admin key contains control characters; check the file or variable it comes from")
        : key;

    public Task<AdminResponse> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<AdminResponse> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    public Task<AdminResponse> PutAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Put, path, body, cancellationToken);

    public Task<AdminResponse> DeleteAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    private async Task<AdminResponse> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'))
        {
            // A JsonElement body (read from a file) goes as it is; anything else is serialized.
            Content = body switch { null => null, JsonElement json => new StringContent(json.GetRawText(), System.Text.Encoding.UTF8, "application/json"), _ => JsonContent.Create(body) },
        };
        if (bearer)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _key);
        }
        else
        {
            request.Headers.Add("X-Admin-Key", _key);
        }
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
