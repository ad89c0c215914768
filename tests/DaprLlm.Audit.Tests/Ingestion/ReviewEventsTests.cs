using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using Microsoft.Data.Sqlite;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>
/// The review events safety publishes reach the trail: published on the topics safety uses (its own constants), through
/// the real sidecars' pub/sub, and read back from the region's store.
/// </summary>
public sealed class ReviewEventsTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    [Fact]
    public async Task A_pii_reveal_published_by_the_review_ui_is_recorded_with_who_and_why()
    {
        var ct = TestContext.Current.CancellationToken;
        await system.WaitSubscribedAsync();
        var reviewId = "rev-" + Guid.NewGuid().ToString("N");

        // What ReviewService.RevealAsync publishes (it named a topic nobody subscribed to, so no reveal was ever audited).
        await system.Publisher.PublishEventAsync(DaprComponents.PubSub, ReviewNames.PiiRevealedTopic,
            new ReviewPiiRevealedV1(reviewId, "eu-corp", "alice [sub-1]", "checking a reported false positive", DateTimeOffset.UtcNow), ct);

        string? stored = null;
        await system.WaitAsync(async () => (stored = await StoredContentAsync("eu", ReviewNames.PiiRevealedTopic, reviewId)) is not null,
            TimeSpan.FromSeconds(30), "the reveal to be stored");
        Assert.Contains("alice [sub-1]", stored);
        Assert.Contains("checking a reported false positive", stored);
    }

    [Fact]
    public void Every_review_topic_safety_publishes_is_one_the_audit_app_records()
    {
        Assert.Contains(ReviewNames.CreatedTopic, Topics.Audited);
        Assert.Contains(ReviewNames.DecidedTopic, Topics.Audited);
        Assert.Contains(ReviewNames.PiiRevealedTopic, Topics.Audited);
    }

    private async Task<string?> StoredContentAsync(string region, string eventType, string mention)
    {
        var path = Path.Combine(system.DataDirectory, $"audit-{region}.db");
        if (!File.Exists(path))
        {
            return null;
        }

        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT content FROM records WHERE event_type = $type AND instr(content, $mention) > 0";
        command.Parameters.AddWithValue("$type", eventType);
        command.Parameters.AddWithValue("$mention", mention);
        return await command.ExecuteScalarAsync() as string;
    }
}
