using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Review;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Review.Tests.Workflow;

/// <summary>
/// The review workflow in the real safety app against a real sidecar and Redis: decided in time, escalated,
/// defaulted, double decisions and wrong roles refused. SLAs are a few seconds so the timeouts really fire.
/// </summary>
public sealed class ReviewWorkflowTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_reviewers_decision_within_the_SLA_is_final_and_published()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        Assert.Equal(ReviewStatuses.Pending, (await host.GetStatusViaDaprAsync(id))!.Status);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.CreatedTopic, id)).Count > 0, Wait, "review.created");

        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Block, ["harassment"], "insulting", Ct);

        var status = await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Blocked, Wait, "the block to be recorded");
        Assert.Equal("alice", status.DecidedBy);
        Assert.NotNull(status.DecidedAt);
        Assert.Equal(["harassment"], status.Labels);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, id)).Count > 0, Wait, "review.decided");
        var decided = Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
        Assert.Contains("\"status\":\"blocked\"", decided, StringComparison.Ordinal);
        Assert.Contains("\"decidedBy\":\"alice\"", decided, StringComparison.Ordinal);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, Ct);
        Assert.Equal(ReviewStatuses.Blocked, workflow.ReadOutputAs<ReviewStatus>()!.Status);
    }

    [Fact]
    public async Task Escalates_to_the_senior_queue_when_nobody_decides_in_time_and_a_senior_decides()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromSeconds(3));
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);

        await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Escalated, Wait, "the escalation");
        // A plain reviewer may no longer take it; the senior may.
        var refused = await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct));
        Assert.Equal(ReviewRefusal.Forbidden, refused.Reason);
        Assert.DoesNotContain(await host.Reviews.QueueAsync(ReviewHost.Alice, Ct), i => i.Id == id);
        Assert.Contains(await host.Reviews.QueueAsync(ReviewHost.Sam, Ct), i => i.Id == id);
        await host.Reviews.ClaimAsync(ReviewHost.Sam, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Sam, id, ReviewStatuses.Allow, [], "fine in context", Ct);

        var status = await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Allowed, Wait, "the senior's decision");
        Assert.Equal("sam", status.DecidedBy);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, id)).Count > 0, Wait, "review.decided");
        Assert.Contains("\"escalated\":true", Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id)), StringComparison.Ordinal);
        // review.created once for the standard queue, once for the senior queue.
        Assert.Equal(2, (await host.PublishedAsync(ReviewNames.CreatedTopic, id)).Count);
    }

    [Fact]
    public async Task Applies_the_category_default_after_the_second_timeout_closed_for_severe_and_open_for_mild()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromSeconds(2));
        var severe = await host.Reviews.EscalateAsync(ReviewHost.Item(categories: new Dictionary<string, double> { ["self-harm/instructions"] = 0.6 }), Ct);
        var mild = await host.Reviews.EscalateAsync(ReviewHost.Item(categories: new Dictionary<string, double> { ["harassment"] = 0.4 }), Ct);

        var severeStatus = await host.WaitForStatusAsync(severe, s => s.Status == ReviewStatuses.Defaulted, Wait, "the severe default");
        var mildStatus = await host.WaitForStatusAsync(mild, s => s.Status == ReviewStatuses.Defaulted, Wait, "the mild default");

        Assert.Equal(ReviewStatuses.Block, severeStatus.Decision);
        Assert.Equal(ReviewStatuses.Allow, mildStatus.Decision);
        Assert.Null(severeStatus.DecidedBy);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, severe)).Count > 0, Wait, "review.decided");
        var published = Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, severe));
        Assert.Contains("\"status\":\"defaulted\"", published, StringComparison.Ordinal);
        Assert.Contains("\"decision\":\"block\"", published, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_SLA_follows_the_items_severity()
    {
        // Critical items get seconds, low ones the long wait: only the critical one times out and escalates.
        await using var host = await ReviewHost.StartAsync(Long, extraSettings: new Dictionary<string, string> { ["Review:SlaBySeverity:critical"] = "00:00:02" });
        var low = await host.Reviews.EscalateAsync(ReviewHost.Item(severity: "low"), Ct);
        var critical = await host.Reviews.EscalateAsync(ReviewHost.Item(severity: "critical"), Ct);
        // Critical outranks low in the queue whatever the scores.
        Assert.Equal([critical, low], (await host.Reviews.QueueAsync(ReviewHost.Sam, Ct)).Select(i => i.Id).Where(i => i == low || i == critical));

        // Escalated after the first SLA (and defaulted after the second: either proves the timer fired).
        await host.WaitForStatusAsync(critical, s => s.Status is ReviewStatuses.Escalated or ReviewStatuses.Defaulted, Wait, "the critical item's escalation");

        var lowItem = await host.Reviews.GetForAsync(ReviewHost.Sam, low, Ct);
        var criticalItem = await host.Reviews.GetForAsync(ReviewHost.Sam, critical, Ct);
        Assert.Equal(ReviewStatuses.Pending, lowItem.Status);
        Assert.Equal(ReviewStatuses.StandardQueue, lowItem.Queue);
        Assert.True(lowItem.SlaDeadline - lowItem.CreatedAt >= Long - TimeSpan.FromSeconds(1), $"low SLA {lowItem.SlaDeadline - lowItem.CreatedAt}");
        Assert.True(criticalItem.Escalated);
        Assert.Equal(ReviewStatuses.SeniorQueue, criticalItem.Queue);
    }

    [Fact]
    public async Task A_reviewer_escalates_to_the_senior_queue_and_only_a_senior_decides()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);

        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Escalate, ["harassment"], "unsure: sarcasm?", Ct);

        var escalated = await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Escalated, Wait, "the reviewer's escalation");
        Assert.Null(escalated.DecidedBy);
        // The senior queue was notified: review.created once per queue.
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.CreatedTopic, id)).Count == 2, Wait, "review.created for the senior queue");
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(ReviewHost.Bob, id, Ct))).Reason);
        // Nor may a reviewer open it (scores, rule hits, conversation): the senior queue's, like the claim.
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.GetForAsync(ReviewHost.Alice, id, Ct))).Reason);
        Assert.Equal(id, (await host.Reviews.GetForAsync(ReviewHost.Sam, id, Ct)).Id);
        await host.Reviews.ClaimAsync(ReviewHost.Sam, id, Ct);
        Assert.Equal(ReviewRefusal.Invalid, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Sam, id, ReviewStatuses.Escalate, [], null, Ct))).Reason);
        await host.Reviews.DecideAsync(ReviewHost.Sam, id, ReviewStatuses.Block, ["harassment"], null, Ct);

        var decided = await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Blocked, Wait, "the senior's block");
        Assert.Equal("sam", decided.DecidedBy);
        await Deadline.WaitUntilAsync(async () => (await host.PublishedAsync(ReviewNames.DecidedTopic, id)).Count > 0, Wait, "review.decided");
        Assert.Contains("\"escalated\":true", Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_decision_is_refused_and_only_the_first_is_published()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Allow, [], null, Ct);

        var again = await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Block, [], null, Ct));
        var claim = await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(ReviewHost.Bob, id, Ct));

        Assert.Equal(ReviewRefusal.AlreadyDecided, again.Reason);
        Assert.Equal(ReviewRefusal.AlreadyDecided, claim.Reason);
        await host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Allowed, Wait, "the first decision");
        await host.Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Ct);
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
        Assert.Equal(ReviewStatuses.Allowed, (await host.GetStatusViaDaprAsync(id))!.Status);
    }

    [Fact]
    public async Task A_decision_retried_after_its_event_was_lost_wakes_the_workflow_instead_of_being_refused()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var store = host.App.Services.GetRequiredService<ReviewStore>();
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        // What a decision leaves when the item was written but raising its event failed (the sidecar went away between).
        await store.UpdateAsync(id, c => c with
        {
            Status = ReviewStatuses.Blocked, Decision = ReviewStatuses.Block, DecidedBy = "alice", DecidedAt = DateTimeOffset.UtcNow,
            ClaimedBy = null, ClaimExpiresAt = null,
        }, Ct);

        // The reviewer retries the same decision: it is accepted and the workflow (waiting for 10 minutes) finishes now.
        var item = await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Block, [], null, Ct);

        Assert.Equal(ReviewStatuses.Blocked, item.Status);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(ReviewStatuses.Blocked, workflow.ReadOutputAs<ReviewStatus>()!.Status);
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
        // Another decision, or the same one by someone else, is still refused.
        Assert.Equal(ReviewRefusal.AlreadyDecided, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Allow, [], null, Ct))).Reason);
        Assert.Equal(ReviewRefusal.AlreadyDecided, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Bob, id, ReviewStatuses.Block, [], null, Ct))).Reason);
    }

    [Fact]
    public async Task An_item_whose_workflow_could_not_be_scheduled_is_not_left_in_the_queue_and_a_retry_creates_both()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var escalation = ReviewHost.Item();
        var id = ReviewService.IdFor(escalation.TenantId, escalation.RequestId, escalation.Direction);
        // Review items and indexes may be written, the workflow engine's records may not: scheduling fails after the item is stored.
        await host.SetRedisAclAsync("resetkeys", "~safety||review*");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => host.Reviews.EscalateAsync(escalation, Ct));
        }
        finally
        {
            await host.SetRedisAclAsync("allkeys");
        }

        // No item that nothing would ever time out, default or publish.
        Assert.Null(await host.GetStatusViaDaprAsync(id));
        Assert.DoesNotContain(await host.Reviews.QueueAsync(ReviewHost.Sam, Ct), i => i.Id == id);

        // The caller's retry creates the item and its workflow.
        Assert.Equal(id, await host.Reviews.EscalateAsync(escalation, Ct));
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Allow, [], null, Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(ReviewStatuses.Allowed, workflow.ReadOutputAs<ReviewStatus>()!.Status);
    }

    [Fact]
    public async Task Refuses_reviewers_without_the_role_the_tenant_or_the_claim()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var globex = await host.Reviews.EscalateAsync(ReviewHost.Item(tenant: "globex"), Ct);
        var acme = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        var nobody = ReviewHost.Account("eve", [], ["*"]);

        // Alice is assigned acme only: another tenant's item does not exist for her.
        Assert.Equal(ReviewRefusal.NotFound, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(ReviewHost.Alice, globex, Ct))).Reason);
        Assert.Equal(ReviewRefusal.NotFound, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.GetForAsync(ReviewHost.Alice, globex, Ct))).Reason);
        Assert.DoesNotContain(await host.Reviews.QueueAsync(ReviewHost.Alice, Ct), i => i.Id == globex);
        // No reviewer role at all.
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(nobody, acme, Ct))).Reason);
        // Deciding needs the claim; a claim held by another reviewer blocks a second one.
        Assert.Equal(ReviewRefusal.NotClaimed, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Bob, acme, ReviewStatuses.Allow, [], null, Ct))).Reason);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, acme, Ct);
        Assert.Equal(ReviewRefusal.ClaimedByOther, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.ClaimAsync(ReviewHost.Bob, acme, Ct))).Reason);
        Assert.Equal(ReviewRefusal.ClaimedByOther, (await Assert.ThrowsAsync<ReviewRefusedException>(() => host.Reviews.DecideAsync(ReviewHost.Bob, acme, ReviewStatuses.Block, [], null, Ct))).Reason);
        Assert.Equal(ReviewStatuses.Pending, (await host.GetStatusViaDaprAsync(acme))!.Status);

        // An admin scoped to acme assigns only acme: not every tenant ("*"), not another one, to nobody, itself included.
        var directory = host.App.Services.GetRequiredService<DaprLlm.Safety.Review.Accounts.ReviewerDirectory>();
        var acmeAdmin = ReviewHost.Account("ada", ["admin"], ["acme"]);
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => directory.AssignTenantsAsync(acmeAdmin, "ada", ["*"], Ct))).Reason);
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => directory.AssignTenantsAsync(acmeAdmin, "alice", ["acme", "globex"], Ct))).Reason);
        // Bob holds globex too: an acme admin cannot take it away either.
        Assert.Equal(ReviewRefusal.Forbidden, (await Assert.ThrowsAsync<ReviewRefusedException>(() => directory.AssignTenantsAsync(acmeAdmin, "bob", ["acme"], Ct))).Reason);
        Assert.Equal(["acme"], await directory.GetTenantsAsync("alice", Ct));
        await directory.AssignTenantsAsync(acmeAdmin, "alice", [], Ct);
        Assert.Empty(await directory.GetTenantsAsync("alice", Ct));
    }

    [Fact]
    public async Task Calls_the_clients_webhook_through_the_output_binding_when_configured()
    {
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var port = Ports.GetFree();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        await using var webhook = builder.Build();
        webhook.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            received.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        });
        await webhook.StartAsync(Ct);
        await using var host = await ReviewHost.StartAsync(Long, $"http://127.0.0.1:{port}/hook");
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);

        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Allow, ["harassment"], "internal note", Ct);

        await Deadline.WaitUntilAsync(() => !received.IsEmpty, Wait, "the webhook call");
        var body = Assert.Single(received);
        // Only what the gateway's public review status shows: one binding receives every tenant's decisions, so the
        // reviewer's identity, the labels, the note and the tenant stay inside.
        var json = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal(["decided_at", "decision", "id", "object", "request_id", "status"], json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(id, json.GetProperty("id").GetString());
        Assert.Equal("review", json.GetProperty("object").GetString());
        Assert.Equal(ReviewStatuses.Allowed, json.GetProperty("status").GetString());
        Assert.Equal(ReviewStatuses.Allow, json.GetProperty("decision").GetString());
        Assert.Equal((await host.GetStatusViaDaprAsync(id))!.RequestId, json.GetProperty("request_id").GetString());
        Assert.DoesNotContain("alice", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_client_webhook_does_not_undo_the_decision()
    {
        // Nothing listens on this port.
        await using var host = await ReviewHost.StartAsync(Long, $"http://127.0.0.1:{Ports.GetFree()}/hook");
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);

        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Block, [], null, Ct);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        var workflow = await host.Workflows.WaitForWorkflowCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(Dapr.Workflow.WorkflowRuntimeStatus.Completed, workflow.RuntimeStatus);
        Assert.Equal(ReviewStatuses.Blocked, workflow.ReadOutputAs<ReviewStatus>()!.Status);
        Assert.Single(await host.PublishedAsync(ReviewNames.DecidedTopic, id));
    }

    [Fact]
    public async Task Concurrent_claims_have_exactly_one_winner()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        var reviewers = Enumerable.Range(0, 8).Select(i => ReviewHost.Account($"r{i}", ["reviewer"], ["acme"])).ToList();

        var results = await Task.WhenAll(reviewers.Select(async r =>
        {
            try
            {
                await host.Reviews.ClaimAsync(r, id, Ct);
                return r.Name;
            }
            catch (ReviewRefusedException e) when (e.Reason == ReviewRefusal.ClaimedByOther)
            {
                return null;
            }
        }));

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(winner, (await host.Reviews.GetForAsync(ReviewHost.Bob, id, Ct)).ClaimedBy);
    }

    [Fact]
    public async Task Escalating_the_same_request_twice_gives_the_same_review()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var item = ReviewHost.Item();

        var first = await host.Reviews.EscalateAsync(item, Ct);
        var second = await host.Reviews.EscalateAsync(item, Ct);

        Assert.Equal(first, second);
        Assert.Single(await host.Reviews.QueueAsync(ReviewHost.Bob, Ct), i => i.RequestId == item.RequestId);
    }

    [Fact]
    public async Task A_decided_item_left_in_the_open_index_by_a_failed_index_write_is_moved_to_the_closed_one_at_the_next_listing()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        var store = host.App.Services.GetRequiredService<ReviewStore>();
        var dapr = host.App.Services.GetRequiredService<Dapr.Client.DaprClient>();
        var id = await host.Reviews.EscalateAsync(ReviewHost.Item(), Ct);
        await host.Reviews.ClaimAsync(ReviewHost.Alice, id, Ct);
        await host.Reviews.DecideAsync(ReviewHost.Alice, id, ReviewStatuses.Allow, [], null, Ct);
        // What a sidecar outage between the item's write and the index writes leaves behind.
        await dapr.SaveStateAsync(DaprComponents.StateStore, "review-index|open", new List<string> { id }, cancellationToken: Ct);
        await dapr.SaveStateAsync(DaprComponents.StateStore, "review-index|closed", new List<string>(), cancellationToken: Ct);

        Assert.DoesNotContain(await store.ListOpenAsync(Ct), i => i.Id == id);

        Assert.Empty(await dapr.GetStateAsync<List<string>>(DaprComponents.StateStore, "review-index|open", cancellationToken: Ct));
        Assert.Contains(await store.ListClosedAsync(Ct), i => i.Id == id && i.Status == ReviewStatuses.Allowed);
    }

    [Fact]
    public async Task The_status_route_answers_an_OpenAI_style_404_for_an_unknown_review()
    {
        await using var host = await ReviewHost.StartAsync(Long);
        using var http = host.CreateAppClient();

        using var response = await http.GetAsync($"/{ReviewNames.StatusMethodPrefix}rv-unknown", Ct);

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"error\":{\"message\":\"review 'rv-unknown' was not found\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public void The_workflow_type_is_registered_under_the_contract_name() =>
        Assert.Equal(ReviewNames.Workflow, nameof(DaprLlm.Safety.Review.Workflows.ReviewWorkflow));
}
