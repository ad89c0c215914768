using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>Helpers the model-folder tests share: one greedy request through a scheduler, and KV value cleanup.</summary>
internal static class SchedulerRuns
{
    /// <summary>Runs one greedy chat request for the model in <paramref name="folder"/>; returns its text and end marker.</summary>
    public static async Task<string> GreedyAsync(BatchScheduler scheduler, string folder, string prompt, int maxTokens, CancellationToken ct)
    {
        var ids = ChatTemplate.For(ModelTokenizer.Load(folder)).Render([new ChatMessage("user", prompt)]);
        var job = new GenerationJob(ids, new SamplingParameters(maxTokens, 0, 1, 0, null, []), ct);
        Assert.True(scheduler.TryEnqueue(job));
        var text = "";
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            text += e switch
            {
                GenerationEvent.Token t => t.Text,
                GenerationEvent.End end => $"|{end.CompletionTokens}|{end.FinishReason}",
                GenerationEvent.Failed f => $"|failed: {f.Message}",
                _ => "",
            };
        }

        return text;
    }

    public static void DisposeAll(IEnumerable<OrtValue> values)
    {
        foreach (var v in values)
        {
            v.Dispose();
        }
    }
}
