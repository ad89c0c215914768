using System.Collections.Concurrent;
using System.Text.Json;

namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>What a target app saw: the endpoints below record into it, tests read it.</summary>
public sealed class TargetState
{
    public ConcurrentDictionary<string, int> Hits { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<byte[]> Bodies { get; } = new();

    public volatile bool BreakerFailing = true;

    public TaskCompletionSource Gate(string key) => Gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public int Hit(string key) => Hits.AddOrUpdate(key, 1, (_, n) => n + 1);

    public int HitsOf(string key) => Hits.TryGetValue(key, out var n) ? n : 0;
}

/// <summary>The echo of a request as the target app received it.</summary>
public sealed record EchoReply(string Method, string Path, string Query, Dictionary<string, string> Headers, string Body);

/// <summary>Endpoints of the target app used by the invocation, resiliency, security and telemetry tests.</summary>
public static class TargetEndpoints
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(WebApplication app, TargetState state)
    {
        // Echoes everything the app received, for any verb.
        app.Map("/echo/{**rest}", async (HttpContext context) =>
        {
            state.Hit("echo");
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
            context.Response.Headers["x-echo"] = "from-target";
            return Results.Json(new EchoReply(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body), Json);
        });

        app.MapGet("/status/{code:int}", (int code, HttpContext context) =>
        {
            context.Response.Headers["x-status-source"] = "target";
            return Results.Text($"answered {code}", "text/plain", statusCode: code);
        });

        // Writes one event, then waits until the test says it received it before writing the next and finishing.
        app.MapGet("/sse/{key}", async (string key, HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await state.Gate(key).Task.WaitAsync(TimeSpan.FromSeconds(20), context.RequestAborted);
            await context.Response.WriteAsync("data: second\n\n", context.RequestAborted);
        });

        // Answers with a header whose value is not ASCII (sent as UTF-8 bytes).
        app.MapGet("/utf8-header", (HttpContext context) =>
        {
            context.Response.Headers["x-user"] = "José Ñúñez";
            return Results.Text("ok");
        });

        // Starts a 200 stream, then drops the connection mid-body (a target that crashes while answering).
        app.MapGet("/cut/{key}", async (string key, HttpContext context) =>
        {
            state.Hit(key);
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            // Cut only once the caller has the first event (an abort's reset would discard bytes still in flight).
            await state.Gate(key).Task.WaitAsync(TimeSpan.FromSeconds(20), context.RequestAborted);
            context.Abort();
        });

        // Fails with 503 the first {failures} calls for a key, then answers 200.
        app.MapGet("/flaky/{key}/{failures:int}", (string key, int failures) =>
            state.Hit(key) <= failures ? Results.Text("not yet", statusCode: 503) : Results.Text("ok after retries"));

        // Same for a POST: the answer after the failures echoes the body of that (replayed) attempt.
        app.MapPost("/flaky-echo/{key}/{failures:int}", async (string key, int failures, HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            return state.Hit(key) <= failures ? Results.Text("not yet", statusCode: 503) : Results.Text(body);
        });

        // Always fails with the given status, counting calls.
        app.MapGet("/always/{key}/{code:int}", (string key, int code) =>
        {
            state.Hit(key);
            return Results.Text($"always {code}", statusCode: code);
        });

        app.MapGet("/breaker", () =>
        {
            state.Hit("breaker");
            return state.BreakerFailing ? Results.Text("failing", statusCode: 500) : Results.Text("healthy");
        });

        app.MapGet("/slow/{key}", async (string key, HttpContext context) =>
        {
            state.Hit(key);
            await state.Gate(key).Task.WaitAsync(TimeSpan.FromSeconds(20), context.RequestAborted);
            return Results.Text("slow answer");
        });

        app.MapPost("/sink", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            state.Bodies.Enqueue(buffer.ToArray());
            return Results.Ok();
        });
    }
}
