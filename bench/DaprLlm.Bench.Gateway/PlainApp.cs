using System.Net;
using System.Net.Http.Headers;
using DaprLlm.Gateway.Upstream;

/// <summary>
/// --plain-app PORT URL1 URL2 URL3: the floor of what the gateway does, for the latency bench's "plain" target. A bare
/// ASP.NET Core app (its own process, the gateway's runtime settings) that answers POST /v1/chat/completions by making
/// the gateway's three backend calls (same routes and bodies, one after another, on a connection pool set up like the
/// gateway's) and returning the generation's bytes: no authentication, quotas, validation, JSON models or audit. The
/// gateway's tail minus this one's is what the gateway's own work adds; this one's minus direct3 is the price of any
/// ASP.NET Core + HttpClient hop on these cores.
/// </summary>
static class PlainApp
{
    public static async Task<int> RunAsync(int port, (string Url, string Body)[] calls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        using var http = new HttpClient(new UnrecordedSpanHandler { InnerHandler = DaprUpstreamChannels.CreateSocketsHandler() }) { Timeout = Timeout.InfiniteTimeSpan };
        var encoded = calls.Select(c => (Uri: new Uri(c.Url), Body: System.Text.Encoding.UTF8.GetBytes(c.Body))).ToArray();
        var json = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
        app.MapPost("/v1/chat/completions", async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            byte[] answer = [];
            foreach (var (uri, body) in encoded)
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = json;
                using var response = await http.PostAsync(uri, content, context.RequestAborted);
                answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            }

            context.Response.ContentType = "application/json";
            context.Response.ContentLength = answer.Length;
            await context.Response.Body.WriteAsync(answer, context.RequestAborted);
        });
        app.MapGet("/healthz", () => "ok");
        await app.RunAsync();
        return 0;
    }
}
