using System.Diagnostics.Metrics;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Inference.Tests;

/// <summary>The scheduler on the demo model without HTTP: rows join and leave, outputs match solo runs.</summary>
public sealed class BatchSchedulerTests : IDisposable
{
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load(DemoModel.Folder);
    private readonly RecordingLogger _logger = new();
    private readonly BatchScheduler _scheduler;
    private readonly BatchScheduler _endless;

    public BatchSchedulerTests()
    {
        _scheduler = NewScheduler(stopAtEndOfTurn: true);
        // Without end-of-turn ids every request runs to max_tokens: long requests on demand.
        _endless = NewScheduler(stopAtEndOfTurn: false);
    }

    private BatchScheduler NewScheduler(bool stopAtEndOfTurn)
    {
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (session, provider) = SessionFactory.Create(Path.Combine(DemoModel.Folder, config.ModelFile), ["CPU"], 1, _logger);
        var metrics = new InferenceMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
        return new BatchScheduler("test", provider, new OnnxDecoder(session, config, DemoModel.Padding), _tokenizer, stopAtEndOfTurn ? config.EosTokenIds : [],
            config.ContextLength, 8, 16, metrics, _logger);
    }

    [Fact]
    public async Task A_late_request_joins_the_running_batch_and_finishes_before_the_early_long_ones()
    {
        var ct = TestContext.Current.CancellationToken;
        var early = Enumerable.Range(0, 4).Select(i => Job("The LORD is my shepherd; I shall not want.", 200, ct, seed: i)).ToList();
        foreach (var job in early)
        {
            Assert.True(_endless.TryEnqueue(job));
        }

        await Poll.UntilAsync(() => early.All(j => j.FirstTokenAt is not null), TimeSpan.FromSeconds(30), "the early requests to start");
        var late = Job("Jesus wept.", 3, ct);
        Assert.True(_endless.TryEnqueue(late));

        var lateEnd = await LastEventAsync(late, ct);

        Assert.Equal(new GenerationEvent.End("length", late.PromptIds.Count, 3), lateEnd);
        Assert.All(early, j => Assert.False(j.Events.Completion.IsCompleted, "an early request finished before the late one"));
        foreach (var job in early)
        {
            var end = Assert.IsType<GenerationEvent.End>(await LastEventAsync(job, ct));
            Assert.Equal(200, end.CompletionTokens);
        }
    }

    [Fact]
    public async Task Cancelled_request_leaves_the_batch_with_finish_reason_cancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var job = Job("Praise ye the LORD.", 200, cancel.Token);
        Assert.True(_endless.TryEnqueue(job));
        await Poll.UntilAsync(() => job.FirstTokenAt is not null, TimeSpan.FromSeconds(30), "the request to start");

        cancel.Cancel();
        var end = Assert.IsType<GenerationEvent.End>(await LastEventAsync(job, ct));

        Assert.Equal("cancelled", end.FinishReason);
        Assert.InRange(end.CompletionTokens, 1, 199);
        await Poll.UntilAsync(() => _endless.ActiveRows == 0, TimeSpan.FromSeconds(10), "the slot to be freed");
    }

    private static GenerationJob Job(string prompt, int maxTokens, CancellationToken ct, int? seed = null) =>
        new(ChatTemplate.For(ModelTokenizer.Load(DemoModel.Folder)).Render([new ChatMessage("user", prompt)]),
            new SamplingParameters(maxTokens, seed is null ? 0 : 0.9, 1, 0, seed, []), ct);

    private static async Task<GenerationEvent> LastEventAsync(GenerationJob job, CancellationToken ct)
    {
        GenerationEvent? last = null;
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            last = e;
        }

        return last!;
    }

    [Fact]
    public async Task Rows_joining_and_leaving_a_running_batch_keep_their_solo_output()
    {
        var ct = TestContext.Current.CancellationToken;
        string[] prompts = ["Jesus wept.", "The LORD is my shepherd; I shall not want.", "Praise ye the LORD.", "And Moses went up unto God."];
        var solo = new List<string>();
        foreach (var p in prompts)
        {
            solo.Add(await RunAsync(p, 10 + p.Length % 7, ct));
        }

        var together = await Task.WhenAll(prompts.Select((p, i) => RunAsync(p, 10 + p.Length % 7, ct)));

        Assert.True(_logger.Errors.Count == 0, string.Join("\n", _logger.Errors));
        Assert.Equal(solo, together);
    }

    [Fact]
    public async Task Prompts_of_very_different_lengths_admitted_together_are_prefilled_in_groups_and_keep_their_solo_output()
    {
        var ct = TestContext.Current.CancellationToken;
        var psalm = string.Join(" ", Enumerable.Repeat("The LORD is my shepherd; I shall not want.", 6));
        string[] prompts = ["Jesus wept.", psalm, "Praise ye the LORD.", psalm + " Amen."];
        var lengths = prompts.Select(p => ChatTemplate.For(_tokenizer).Render([new ChatMessage("user", p)]).Count).ToArray();
        Assert.True(PrefillPlan.Groups(lengths).Count > 1, $"lengths {string.Join(", ", lengths)} are prefilled in one call");
        var solo = new List<string>();
        foreach (var p in prompts)
        {
            solo.Add(await RunAsync(p, 12, ct));
        }

        var jobs = prompts.Select(p => Job(p, 12, ct)).ToList();
        Assert.True(_scheduler.TryEnqueueAll(jobs));
        var together = new List<string>();
        foreach (var job in jobs)
        {
            together.Add(await TextAsync(job, ct));
        }

        Assert.True(_logger.Errors.Count == 0, string.Join("\n", _logger.Errors));
        Assert.Equal(solo, together);
    }

    [Theory]
    [InlineData(new[] { 20, 21, 20, 15, 20, 15, 13, 15 }, 2)]
    [InlineData(new[] { 9, 9, 9, 9 }, 1)]
    [InlineData(new[] { 5 }, 1)]
    [InlineData(new[] { 200, 8, 9, 201 }, 2)]
    public void A_prefill_plan_covers_every_prompt_once_shortest_groups_first(int[] lengths, int groups)
    {
        var plan = PrefillPlan.Groups(lengths);

        Assert.Equal(groups, plan.Count);
        Assert.Equal(Enumerable.Range(0, lengths.Length), plan.SelectMany(g => g).Order());
        var longest = plan.Select(g => g.Max(i => lengths[i])).ToList();
        Assert.Equal(longest.Order(), longest);
        // Never more padded positions plus calls than one call for all.
        var cost = plan.Sum(g => PrefillPlan.CallCostPositions + g.Count * g.Max(i => lengths[i]));
        Assert.True(cost <= PrefillPlan.CallCostPositions + lengths.Length * lengths.Max());
    }

    private async Task<string> RunAsync(string prompt, int maxTokens, CancellationToken ct)
    {
        var ids = ChatTemplate.For(_tokenizer).Render([new ChatMessage("user", prompt)]);
        var job = new GenerationJob(ids, new SamplingParameters(maxTokens, 0, 1, 0, null, []), ct);
        Assert.True(_scheduler.TryEnqueue(job));
        return await TextAsync(job, ct);
    }

    private async Task<string> TextAsync(GenerationJob job, CancellationToken ct)
    {
        var text = "";
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            text += e switch
            {
                GenerationEvent.Token t => t.Text,
                GenerationEvent.End end => $"|{end.FinishReason}|{end.CompletionTokens}",
                GenerationEvent.Failed f => $"|failed: {f.Message}; {string.Join("; ", _logger.Errors)}",
                _ => "",
            };
        }

        return text;
    }

    public void Dispose()
    {
        _scheduler.Dispose();
        _endless.Dispose();
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                lock (Errors)
                {
                    Errors.Add($"{formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
