using System.IO.Compression;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Dapr.Client;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Retention;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;

namespace DaprLlm.Audit.Tests.Retention;

/// <summary>
/// The production archive path: retention hands segments to a Dapr output binding (operation create), here a
/// bindings.http component of the real sidecar pointing at a local receiver standing in for the blob container.
/// </summary>
public sealed class ArchiveBindingTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retention_uploads_each_segment_and_its_manifest_through_the_output_binding()
    {
        // This fixture's chain holds only arch-corp records (hot period 0 days), so retention can move all of them.
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = $"arch-{Guid.NewGuid():N}";
            ids.Add(id);
            await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted,
                new RequestCompletedV1(id, "daprllm-demo", RequestCompletedV1.Outcomes.Completed, "stop", 1, 1, "allow", "allow", null, DateTimeOffset.UtcNow,
                    TenantId: "arch-corp", UserId: "archived-user", Prompt: "to be archived"), Ct);
        }

        await system.WaitAsync(async () => ids.All((await system.StoredRequestIdsAsync("eu")).Contains), TimeSpan.FromSeconds(60), "the events to be stored");
        using var run = await system.Http.SendAsync(system.Admin(HttpMethod.Post, "/admin/retention/run?region=eu"), Ct);
        var result = await run.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(run.IsSuccessStatusCode, result.GetRawText());
        Assert.Equal(5, result.GetProperty("regions")[0].GetProperty("recordsArchived").GetInt64());

        var segmentName = Assert.Single(system.ArchivedObjects.Keys, k => k.StartsWith("eu/", StringComparison.Ordinal) && k.EndsWith(".jsonl.gz", StringComparison.Ordinal));
        Assert.StartsWith("eu/segment-", segmentName, StringComparison.Ordinal);
        using var manifest = JsonDocument.Parse(system.ArchivedObjects[segmentName + ".manifest.json"]);
        var segment = system.ArchivedObjects[segmentName];
        Assert.Equal(manifest.RootElement.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(segment)));
        Assert.Equal(5, manifest.RootElement.GetProperty("count").GetInt32());
        using var reader = new StreamReader(new GZipStream(new MemoryStream(segment), CompressionMode.Decompress));
        var lines = (await reader.ReadToEndAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(ids, id => Assert.Contains(lines, l => l.Contains(id, StringComparison.Ordinal)));

        using var verify = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/verify?region=eu"), Ct);
        var report = await verify.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(report.GetProperty("ok").GetBoolean(), report.GetRawText());
        Assert.Equal(1, report.GetProperty("regions")[0].GetProperty("segmentsChecked").GetInt32());
    }

    [Fact]
    public async Task A_deletion_interrupted_after_the_container_dropped_part_of_a_segment_completes_on_the_next_run()
    {
        // The retention job in-process on a fake clock (region us, so the app's eu segments are not touched), archiving
        // through the same sidecar binding and receiver as the app.
        await using var rig = await TrailRig.StartAsync(o => o.Tenants["blob-corp"] = new TenantPolicy { Region = "us", HotDays = 30, ArchiveDays = 1 });
        using var dapr = new DaprClientBuilder().UseHttpEndpoint(system.AuditSidecar.HttpEndpoint).UseGrpcEndpoint(system.AuditSidecar.GrpcEndpoint).Build();
        var retention = new RetentionJob(rig.Options, rig.Time, new BindingArchiveUploader(dapr, "audit-archive"));
        for (var i = 0; i < 3; i++)
        {
            await rig.IngestAsync(Topics.RequestCompleted, new { requestId = $"blob-{Guid.NewGuid():N}", tenantId = "blob-corp", prompt = "kept a day in the container" });
        }

        rig.Time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(3, (await retention.RunAsync(rig.Writer("us"), Ct)).RecordsArchived);
        var segmentName = Assert.Single(system.ArchivedObjects.Keys, k => k.StartsWith("us/", StringComparison.Ordinal) && k.EndsWith(".jsonl.gz", StringComparison.Ordinal));

        // A previous deletion run removed the manifest from the container, then stopped before the segment file and
        // before the database tombstone. The next run must finish the job, not fail on the object that is already gone.
        rig.Time.Advance(TimeSpan.FromDays(2));
        Assert.True(system.ArchivedObjects.TryRemove(segmentName + ".manifest.json", out _));
        var rerun = await retention.RunAsync(rig.Writer("us"), Ct);

        Assert.Equal(1, rerun.SegmentsDeleted);
        Assert.DoesNotContain(system.ArchivedObjects.Keys, k => k.StartsWith("us/", StringComparison.Ordinal));
        Assert.NotNull(Assert.Single(await rig.Writer("us").Store.ReadSegmentsAsync(Ct)).DeletedAtMs);
        var report = await rig.VerifyAsync("us");
        Assert.True(report.Ok, report.FirstProblem?.Detail);
    }
}
