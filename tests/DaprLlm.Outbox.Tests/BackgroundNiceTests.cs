using System.Globalization;
using DaprLlm.Outbox.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Outbox.Tests;

/// <summary>
/// Outbox:BackgroundNice: the writer thread and the drain (its loop and the sink calls it makes) run at the configured
/// nice value, read back from the kernel; 0 leaves them alone; an out-of-range value fails the start.
/// </summary>
public sealed class BackgroundNiceTests
{
    private sealed record Sample(int N);

    [Fact]
    public async Task The_writer_thread_runs_at_the_configured_nice_value()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "nice values per thread are a Linux feature");
        // 13: a value no other test uses, so the thread found is this rig's.
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, BackgroundNice = 13 });
        rig.Outbox.Enqueue("t.nice", new Sample(1));
        await rig.Outbox.FlushAsync();

        Assert.Contains(ThreadNices("outbox writer"), nice => nice == 13);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(0)]
    public async Task The_drain_calls_its_sink_from_a_thread_at_the_configured_nice_value(int nice)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "nice values per thread are a Linux feature");
        using var rig = new OutboxRig(new OutboxOptions { BatchDelayMs = 0, MinBackoffMs = 10, MaxBackoffMs = 50, BackgroundNice = nice });
        var sink = new PrioritySink();
        using var drain = new OutboxDrain(rig.Outbox, sink, rig.Options, TimeProvider.System, NullLogger<OutboxDrain>.Instance);
        await drain.StartAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 20; i++)
        {
            rig.Outbox.Enqueue("t.nice", new Sample(i));
        }

        await rig.WaitAsync(() => rig.Outbox.Count == 0, "the events to be published");
        await drain.StopAsync(TestContext.Current.CancellationToken);

        Assert.NotEmpty(sink.Nices);
        Assert.All(sink.Nices, n => Assert.Equal(nice, n));
    }

    [Fact]
    public async Task A_nice_value_out_of_range_fails_the_start()
    {
        using var folder = new DaprLlm.Sidecar.Tests.Infrastructure.TempFolder("daprllm-outbox-nice");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["Outbox:BackgroundNice"] = "25";
        builder.Configuration["Outbox:Directory"] = folder.Path;
        builder.AddDurableOutbox("app-nice", "pubsub");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("BackgroundNice", error.Message, StringComparison.Ordinal);
    }

    // The nice values of this process's threads named <paramref name="name"/>, from /proc (field 19 of stat).
    private static List<int> ThreadNices(string name)
    {
        var nices = new List<int>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') != name)
                {
                    continue;
                }

                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                nices.Add(int.Parse(fields[16], CultureInfo.InvariantCulture)); // field 19 overall; fields[0] is field 3
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return nices;
    }

    private sealed class PrioritySink : IOutboxSink
    {
        public System.Collections.Concurrent.ConcurrentBag<int> Nices { get; } = [];

        public Task<IReadOnlyList<OutboxMessage>> PublishAsync(string topic, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
        {
            Nices.Add(BackgroundPriority.CurrentThreadNice());
            return Task.FromResult<IReadOnlyList<OutboxMessage>>([]);
        }
    }
}
