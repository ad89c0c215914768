using System.IO.Compression;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
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

        var segmentName = Assert.Single(system.ArchivedObjects.Keys, k => k.EndsWith(".jsonl.gz", StringComparison.Ordinal));
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
}
