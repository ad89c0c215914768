using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Outbox.Tests;

/// <summary>
/// Nothing acknowledged is lost: a real publisher process durably enqueues events while its sidecar is down, is killed
/// (SIGKILL, whole tree) while still enqueuing, and restarted with the sidecar up; a real subscriber behind its own
/// sidecar (Redis Streams) receives every stored event exactly once, every acknowledged id among them.
/// </summary>
public sealed class CrashRecoveryTests
{
    private const string Topic = "outbox.test";
    private const int Events = 150;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(OutboxSidecarProtocol.Http)]
    [InlineData(OutboxSidecarProtocol.Grpc)]
    public async Task Events_stored_while_the_sidecar_was_down_reach_the_subscriber_exactly_once_after_a_kill_and_restart(OutboxSidecarProtocol protocol)
    {
        using var folder = new TempFolder("daprllm-outbox-crash");
        await using var redis = new RedisServer();
        await redis.InitializeAsync();
        var resources = folder.Sub("resources");
        folder.Write("resources/pubsub.yaml", ComponentYaml.RedisPubSub(redis.Address, ("processingTimeout", "3s"), ("redeliverInterval", "500ms")));
        var registry = folder.Sub("registry");
        var timeout = TimeSpan.FromSeconds(90);

        // The subscriber: a real app answering the sidecar's discovery and deliveries, recording every CloudEvent id.
        var received = new ConcurrentQueue<string>();
        var subscriberPort = Ports.GetFree();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, subscriberPort));
        await using var subscriber = builder.Build();
        subscriber.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubname = "pubsub", topic = Topic, route = "/receive" } }));
        subscriber.MapPost("/receive", async (HttpRequest request) =>
        {
            using var document = await JsonDocument.ParseAsync(request.Body);
            received.Enqueue(document.RootElement.GetProperty("id").GetString()!);
            return Results.Ok(new { status = "SUCCESS" });
        });
        await subscriber.StartAsync(Ct);
        await using var subscriberSidecar = await SidecarProcess.StartAsync(new SidecarSettings("outbox-subscriber", resources, registry) { AppPort = subscriberPort }, timeout);
        await Deadline.WaitUntilAsync(() => subscriberSidecar.Output.Contains($"Subscribed to topic {Topic}", StringComparison.Ordinal), timeout, "the subscription");

        // The publisher's sidecar exists (its ports are known) but is down while the events are stored.
        await using var publisherSidecar = await SidecarProcess.StartAsync(new SidecarSettings("outbox-publisher", resources, registry), timeout);
        await publisherSidecar.KillAsync();
        var outboxPath = Path.Combine(folder.Path, "data", "outbox-publisher-test.outbox.db");

        // First 150 events acknowledged (durably enqueued) while the sidecar is down; the publisher goes on enqueuing and
        // acknowledging more until it is killed, so the kill lands between and inside group commits.
        List<string> acknowledged;
        long rowsAtKill;
        await using (var first = PublisherProcess.Start(outboxPath, Events, publisherSidecar, continueEnqueuing: true, protocol))
        {
            await Deadline.WaitUntilAsync(() => first.Ready, timeout, "the publisher to store its events");
            Assert.Equal(Events, first.EnqueuedBeforeReady);
            // It tried and failed against the dead sidecar (and keeps the rows), then dies without any shutdown.
            await Deadline.WaitUntilAsync(() => first.Output.Contains("they stay in the outbox and are retried", StringComparison.Ordinal), timeout, "a failed publish");
            await Deadline.WaitUntilAsync(() => first.Enqueued.Count > Events + 20, timeout, "more events acknowledged after the first");
            await first.KillAsync();
            acknowledged = first.Enqueued;
            rowsAtKill = RowsOnDisk(outboxPath);
        }

        Assert.Equal(acknowledged.Count, acknowledged.Distinct().Count());
        // Every acknowledged event is on disk; at most the events committed but not yet acknowledged when the kill came are more.
        Assert.InRange(rowsAtKill, acknowledged.Count, acknowledged.Count + 10);
        Assert.Empty(received);

        await publisherSidecar.RestartAsync(timeout);
        await using (var second = PublisherProcess.Start(outboxPath, 0, publisherSidecar, continueEnqueuing: false, protocol))
        {
            await Deadline.WaitUntilAsync(() => received.Count >= rowsAtKill, timeout, $"all {rowsAtKill} stored events at the subscriber");
            await Deadline.WaitUntilAsync(() => RowsOnDisk(outboxPath) == 0, timeout, "the accepted rows to be deleted");
            await second.KillAsync();
        }

        // Exactly once: every stored event arrived, none twice, and every acknowledged one is among them.
        Assert.Equal(rowsAtKill, received.Count);
        Assert.Equal(received.Count, received.Distinct().Count());
        Assert.Empty(acknowledged.Except(received));
    }

    private static long RowsOnDisk(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>tests/DaprLlm.Outbox.TestPublisher as a process of its own.</summary>
    private sealed class PublisherProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        private PublisherProcess(Process process) => _process = process;

        public List<string> Enqueued => _output.Where(l => l.StartsWith("ENQUEUED ", StringComparison.Ordinal)).Select(l => l["ENQUEUED ".Length..]).ToList();

        public int EnqueuedBeforeReady => _output.TakeWhile(l => l != "READY").Count(l => l.StartsWith("ENQUEUED ", StringComparison.Ordinal));

        public bool Ready => _output.Contains("READY");

        public string Output => string.Join(Environment.NewLine, _output);

        public static PublisherProcess Start(string outboxPath, int count, SidecarProcess sidecar, bool continueEnqueuing, OutboxSidecarProtocol protocol)
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var dll = Path.Combine(RepoPaths.Root, "tests", "DaprLlm.Outbox.TestPublisher", "bin", configuration, "net10.0", "DaprLlm.Outbox.TestPublisher.dll");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("exec");
            info.ArgumentList.Add(File.Exists(dll) ? dll : throw new FileNotFoundException("Build the test publisher first", dll));
            info.Environment["OUTBOX_PATH"] = outboxPath;
            info.Environment["OUTBOX_COUNT"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            info.Environment["OUTBOX_TOPIC"] = Topic;
            info.Environment["OUTBOX_CONTINUE"] = continueEnqueuing ? "1" : "0";
            info.Environment["OUTBOX_PROTOCOL"] = protocol.ToString();
            foreach (var (key, value) in sidecar.AppEnvironment)
            {
                info.Environment[key] = value;
            }

            var process = new Process { StartInfo = info };
            var publisher = new PublisherProcess(process);
            process.OutputDataReceived += (_, e) => publisher.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => publisher.Keep(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return publisher;
        }

        /// <summary>SIGKILL of the whole tree, as a crash would: no shutdown, no final drain.</summary>
        public async Task KillAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await KillAsync();
            _process.Dispose();
        }

        private void Keep(string? line)
        {
            if (line is not null)
            {
                _output.Enqueue(line);
            }
        }
    }
}
