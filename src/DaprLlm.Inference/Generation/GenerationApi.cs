using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Catalog;

namespace DaprLlm.Inference.Generation;

/// <summary>POST v1/generate and v1/generate/stream, called by the gateway through Dapr service invocation.</summary>
public static class GenerationApi
{
    public static WebApplication MapGenerationApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.Generate, Generate);
        app.MapPost("/" + ServiceMethods.GenerateStream, GenerateStream);
        return app;
    }

    private static async Task<IResult> Generate(HttpContext context, ModelRegistry registry)
    {
        // Answered in one piece: a local model collects the tokens instead of waking this handler for each one.
        var (job, model, error) = await GenerationAdmission.AdmitAsync(context.Request, registry, context.RequestAborted, stream: false);
        if (error is not null)
        {
            return error;
        }

        var text = new StringBuilder();
        await foreach (var e in job!.Events.ReadAllAsync(CancellationToken.None))
        {
            switch (e)
            {
                case GenerationEvent.Token token:
                    text.Append(token.Text);
                    break;
                case GenerationEvent.End end:
                    text.Append(job.CollectedText);
                    return TypedResults.Json(new GenerationResult(model!.Id, text.ToString(), end.PromptTokens, end.CompletionTokens, end.FinishReason),
                        InferenceJson.Default.GenerationResult);
                case GenerationEvent.Failed failed:
                    return Errors.Result(failed, registry.Options.RetryAfterSeconds);
            }
        }

        return Errors.Result(503, "generation ended without a result", null, "generation_failed", registry.Options.RetryAfterSeconds);
    }

    /// <summary>
    /// Server-Sent Events, one per token, then one end (or error) event. A client that disconnects aborts the
    /// request, which cancels the job: the scheduler drops its row at the next step and frees the slot.
    /// </summary>
    private static async Task GenerateStream(HttpContext context, ModelRegistry registry)
    {
        var (job, _, error) = await GenerationAdmission.AdmitAsync(context.Request, registry, context.RequestAborted);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }

        // Headers wait for the first event, so a request that fails before its first token (a remote model down,
        // a failed prefill) gets a proper status code instead of a 200 with an error event.
        try
        {
            if (await job!.Events.WaitToReadAsync(context.RequestAborted) && job.Events.TryPeek(out var first) && first is GenerationEvent.Failed failed)
            {
                await Errors.Result(failed, registry.Options.RetryAfterSeconds).ExecuteAsync(context);
                return;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(context.RequestAborted);
        var body = response.BodyWriter;
        using var json = new Utf8JsonWriter(body);
        try
        {
            // Everything the scheduler published since the last wake-up goes out in one flush, one SSE event per token.
            var events = job!.Events;
            while (await events.WaitToReadAsync(context.RequestAborted))
            {
                while (events.TryRead(out var e))
                {
                    WriteEvent(body, json, ToStreamEvent(e));
                }

                await body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the job saw the same token and leaves the batch.
        }
    }

    private static GenerationStreamEvent ToStreamEvent(GenerationEvent e) => e switch
    {
        GenerationEvent.Token t => new GenerationStreamEvent(GenerationStreamEvent.TokenType, Text: t.Text),
        GenerationEvent.End end => new GenerationStreamEvent(GenerationStreamEvent.EndType, FinishReason: end.FinishReason,
            PromptTokens: end.PromptTokens, CompletionTokens: end.CompletionTokens),
        GenerationEvent.Failed f => new GenerationStreamEvent(GenerationStreamEvent.ErrorType, Error: Errors.Detail(f.Status, f.Message, null, f.Code)),
        _ => throw new InvalidOperationException("unknown generation event"),
    };

    /// <summary>Serializes one event straight into the response pipe (no per-event byte arrays); the caller flushes.</summary>
    private static void WriteEvent(PipeWriter body, Utf8JsonWriter json, GenerationStreamEvent e)
    {
        body.Write("data: "u8);
        json.Reset(body);
        JsonSerializer.Serialize(json, e, InferenceJson.Default.GenerationStreamEvent);
        json.Flush();
        body.Write("\n\n"u8);
    }
}
