using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Ingestion;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Retention;
using DaprLlm.Audit.Trail;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace DaprLlm.Audit.Tests.Infrastructure;

/// <summary>
/// The audit runtime in-process over real SQLite files (eu and us) and a real archive folder, on a fake clock:
/// what the app does after the Dapr delivery, without the HTTP hop.
/// </summary>
public sealed class TrailRig : IAsyncDisposable
{
    private readonly TempFolder _folder = new("daprllm-audit-rig");

    private TrailRig(AuditOptions options)
    {
        Options = options;
        Runtime = new AuditRuntime(options, Time);
        Retention = new RetentionJob(options, Time);
        Subjects = new SubjectService(Runtime, Retention);
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public AuditOptions Options { get; }

    public AuditRuntime Runtime { get; }

    public RetentionJob Retention { get; }

    public SubjectService Subjects { get; }

    public static async Task<TrailRig> StartAsync(Action<AuditOptions>? configure = null)
    {
        var options = new AuditOptions { Regions = ["eu", "us"], DefaultRegion = "eu", MaxBatch = 64, CheckpointEvery = 50 };
        var rig = new TrailRig(options);
        options.DataDirectory = rig._folder.Sub("data");
        options.ArchiveDirectory = rig._folder.Sub("archive");
        options.ApplyDefaults();
        configure?.Invoke(options);
        await rig.Runtime.StartAsync(new AuditKeys(Entries.CheckpointKey, Entries.PseudonymKey), TestContext.Current.CancellationToken);
        return rig;
    }

    /// <summary>Ingests an event as the HTTP endpoint would: envelope → masked entry → its region's writer.</summary>
    /// <param name="time">The event's CloudEvent time (default: now on the fake clock), e.g. an old event delivered late.</param>
    /// <param name="storeFor">The stores ingestion consults for the event's region (default: the rig's), e.g. a hooked one.</param>
    public async Task<EntryDecision> IngestAsync(string topic, object data, string? id = null, DateTimeOffset? time = null, Func<string, IAuditStore?>? storeFor = null)
    {
        var envelope = JsonSerializer.SerializeToElement(new
        {
            id = id ?? Guid.NewGuid().ToString(),
            type = CloudEventEnvelope.DaprDefaultType,
            source = "gateway",
            topic,
            time = time ?? Time.GetUtcNow(),
            // As the publishing apps' Dapr clients write it: contract records arrive camelCase.
            data = JsonSerializer.SerializeToElement(data, data.GetType(), JsonSerializerOptions.Web),
        });
        Assert.True(CloudEventEnvelope.TryParse(envelope, topic, out var parsed, out var error), error);
        var decision = await Runtime.Entries.BuildAsync(parsed!, storeFor ?? Runtime.Store, TestContext.Current.CancellationToken);
        if (decision.Entry is not null)
        {
            await Runtime.Writer(decision.Region)!.AppendAsync(decision.Entry, TestContext.Current.CancellationToken);
        }

        return decision;
    }

    public ChainWriter Writer(string region) => Runtime.Writer(region)!;

    public Task<VerifyReport> VerifyAsync(string region) =>
        Runtime.Verifier().VerifyAsync(Writer(region).Store, Retention.ArchiveFor(region).CheckAsync, TestContext.Current.CancellationToken);

    public async Task<List<AuditRecord>> AllHotAsync(string region) =>
        await Writer(region).Store.ReadAsync(1, long.MaxValue, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

    /// <summary>Every byte the region keeps on disk (database files and archive), to prove something is not there.</summary>
    public string RawBytesOf(string region)
    {
        SqliteConnection.ClearAllPools();
        var text = new System.Text.StringBuilder();
        foreach (var file in Directory.GetFiles(Options.DataDirectory, $"audit-{region}.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
            text.Append(reader.ReadToEnd());
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
