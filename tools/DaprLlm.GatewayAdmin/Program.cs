using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

// daprllm-gateway-admin <command> [args] — talks to the gateway's /admin API.
// Gateway URL: --url or DAPRLLM_GATEWAY_URL (default http://localhost:5080); admin key: --admin-key or
// DAPRLLM_ADMIN_KEY (default: the local development admin key of components/local/secrets.dev.json).
var url = Option("--url") ?? Environment.GetEnvironmentVariable("DAPRLLM_GATEWAY_URL") ?? "http://localhost:5080";
var adminKey = Option("--admin-key") ?? Environment.GetEnvironmentVariable("DAPRLLM_ADMIN_KEY") ?? "dev-only-admin-key-change-me";
var rest = Positional();
if (rest.Count == 0)
{
    return Usage();
}

using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
HttpResponseMessage response;
try
{
    response = (rest[0], rest.Count) switch
    {
        ("dev-key", 1) => await http.GetAsync("/admin/dev-key"),
        ("tenants", 1) => await http.GetAsync("/admin/tenants"),
        ("tenant-create", >= 2) => await http.PostAsJsonAsync("/admin/tenants", new
        {
            id = rest[1],
            tier = Option("--tier") ?? "free",
            homeRegion = Option("--home-region"),
            allowedRegions = Option("--regions")?.Split(','),
            streamingPolicy = Option("--stream-policy"),
        }),
        ("keys", 2) => await http.GetAsync($"/admin/tenants/{rest[1]}/keys"),
        ("key-create", 2) => await http.PostAsJsonAsync($"/admin/tenants/{rest[1]}/keys", new { name = Option("--name") ?? "default" }),
        ("key-rotate", 2) => await http.PostAsync($"/admin/keys/{rest[1]}/rotate", null),
        ("key-revoke", 2) => await http.DeleteAsync($"/admin/keys/{rest[1]}"),
        _ => null!,
    };
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"cannot reach the gateway at {url}: {e.Message}");
    return 2;
}

if (response is null)
{
    return Usage();
}

using (response)
{
    var body = await response.Content.ReadAsStringAsync();
    try
    {
        Console.WriteLine(JsonSerializer.Serialize(JsonDocument.Parse(body).RootElement, new JsonSerializerOptions { WriteIndented = true }));
    }
    catch (JsonException)
    {
        Console.WriteLine(body);
    }

    return response.IsSuccessStatusCode ? 0 : 1;
}

int Usage()
{
    Console.Error.WriteLine("""
        usage: daprllm-gateway-admin [--url URL] [--admin-key KEY] <command>
          dev-key                                   show the local development API key
          tenants                                   list tenants
          tenant-create ID [--tier free|pro|enterprise] [--home-region eu] [--regions eu,us] [--stream-policy buffer|window|async]
          keys TENANT                               list a tenant's keys (ids and prefixes only)
          key-create TENANT [--name NAME]           create a key (the full key is shown once)
          key-rotate KEY_ID                         new key for the same tenant; the old one is revoked
          key-revoke KEY_ID                         revoke a key
        """);
    return 64;
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

List<string> Positional()
{
    var list = new List<string>();
    for (var i = 0; i < args.Length; i++)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal))
        {
            i++;
            continue;
        }

        list.Add(args[i]);
    }

    return list;
}
