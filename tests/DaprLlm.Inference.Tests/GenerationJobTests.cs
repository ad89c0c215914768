using DaprLlm.Inference.Batching;

namespace DaprLlm.Inference.Tests;

/// <summary>When a job's held tokens reach its reader: the first at once, later ones at most once per interval, all before the end.</summary>
public sealed class GenerationJobTests
{
    private static GenerationJob Job(bool stream = true) =>
        new([1, 2, 3], new SamplingParameters(16, 0, 1, 0, null, []), CancellationToken.None, stream);

    private static List<GenerationEvent> Drain(GenerationJob job)
    {
        var events = new List<GenerationEvent>();
        while (job.Events.TryRead(out var e))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public void First_token_is_published_at_once_and_later_ones_wait_for_the_interval()
    {
        var job = Job();

        job.Buffer("In");
        Assert.Empty(Drain(job));
        job.Publish(now: 1_000, interval: 100);
        Assert.Equal([new GenerationEvent.Token("In")], Drain(job));

        job.Buffer(" the");
        job.Buffer(" beginning");
        job.Publish(now: 1_099, interval: 100);
        Assert.Empty(Drain(job));

        job.Publish(now: 1_100, interval: 100);
        Assert.Equal([new GenerationEvent.Token(" the"), new GenerationEvent.Token(" beginning")], Drain(job));
    }

    [Fact]
    public void The_end_sends_held_tokens_first_and_completes_the_stream()
    {
        var job = Job();
        job.Buffer("God");
        job.Publish(now: 1_000, interval: long.MaxValue);
        job.Buffer(" created");
        job.Publish(now: 2_000, interval: long.MaxValue);

        job.Write(new GenerationEvent.End("length", 3, 2));

        Assert.Equal([new GenerationEvent.Token("God"), new GenerationEvent.Token(" created"), new GenerationEvent.End("length", 3, 2)], Drain(job));
        Assert.True(job.Events.Completion.IsCompleted);
    }

    [Fact]
    public void A_failure_after_held_tokens_still_delivers_them_before_the_error()
    {
        var job = Job();
        job.Buffer("Let");
        job.Buffer(" there");

        job.Write(new GenerationEvent.Failed("the model failed while generating"));

        Assert.Equal([new GenerationEvent.Token("Let"), new GenerationEvent.Token(" there"), new GenerationEvent.Failed("the model failed while generating")],
            Drain(job));
    }

    [Fact]
    public void A_non_streamed_job_collects_tokens_and_only_its_end_is_an_event()
    {
        var job = Job(stream: false);
        job.Buffer("Jesus");
        job.Publish(now: 1_000, interval: 0);
        job.Buffer(" wept.");

        job.Write(new GenerationEvent.End("stop", 3, 2));

        Assert.Equal([new GenerationEvent.End("stop", 3, 2)], Drain(job));
        Assert.Equal("Jesus wept.", job.CollectedText);
    }
}
