using DaprLlm.Contracts.Safety;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.ReviewUi.Components;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace DaprLlm.Review.Tests.Ui;

/// <summary>
/// The reviewer UI in real headless chromium against the real app, sidecar and Redis. Each test works in its own
/// tenant; every page visited must leave the browser console free of errors.
/// </summary>
public sealed class ReviewUiTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ReviewService Reviews => fixture.Host.Reviews;

    [Fact]
    public async Task Two_reviewers_claiming_the_same_item_get_one_winner()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-claim"), Ct);
        await using var first = await fixture.SignInAsync("claim1", "claim1-pass");
        await using var second = await fixture.SignInAsync("claim2", "claim2-pass");
        await first.Page.WaitForSelectorAsync($"#claim-{id}");
        await second.Page.WaitForSelectorAsync($"#claim-{id}");

        await Task.WhenAll(first.Page.ClickAsync($"#claim-{id}"), second.Page.ClickAsync($"#claim-{id}"));

        // The winner lands on the item page, the other stays on the queue with the refusal.
        var winner = await WhichAsync(first, second, id);
        var loser = winner == first ? second : first;
        await loser.Page.WaitForSelectorAsync("#message:has-text('already claimed by')");
        var holder = (await Reviews.GetForAsync(ReviewHost.Account("x", ["reviewer"], ["t-claim"]), id, Ct)).ClaimedBy;
        Assert.Equal(winner == first ? "claim1" : "claim2", holder);
        Assert.Equal(holder, (await winner.Page.TextContentAsync("#claimed-by"))?.Trim());
        first.AssertNoConsoleErrors();
        second.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_reviewer_decides_with_the_keyboard_only()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-keys"), Ct);
        await using var session = await ReviewerSession.OpenAsync(fixture.Browser, fixture.BaseAddress);
        var page = session.Page;
        await page.GotoAsync("/review/login");
        await page.FocusAsync("#username");
        await page.Keyboard.TypeAsync("kira");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("kira-pass");
        await page.Keyboard.PressAsync("Enter");
        await session.WaitForInteractiveAsync("queue");
        await page.WaitForSelectorAsync($"tr.selected[data-id='{id}']");

        await page.Keyboard.PressAsync("c");
        await session.WaitForInteractiveAsync("item");
        await page.WaitForSelectorAsync("#block");
        await page.Keyboard.PressAsync("5"); // harassment
        await page.Keyboard.PressAsync("n");
        await page.Keyboard.TypeAsync("abusive towards a named person");
        await page.Keyboard.PressAsync("Escape");
        await page.Keyboard.PressAsync("b");
        await session.WaitForInteractiveAsync("queue");

        var status = await fixture.Host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Blocked, Wait, "the keyboard decision");
        Assert.Equal("kira", status.DecidedBy);
        Assert.Equal(["harassment"], status.Labels);
        Assert.Equal("abusive towards a named person", (await Reviews.GetForAsync(ReviewHost.Sam, id, Ct)).Note);
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Shortcuts_still_work_after_a_label_checkbox_is_clicked()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-check"), Ct);
        await using var session = await fixture.SignInAsync("chk", "chk-pass");
        var page = session.Page;
        await page.ClickAsync($"#claim-{id}");
        await session.WaitForInteractiveAsync("item");

        // Clicking a checkbox leaves the focus on it; it is not a text field, so "a" is still the allow shortcut.
        await page.ClickAsync("input[data-label='harassment']");
        await page.WaitForSelectorAsync("input[data-label='harassment']:checked:focus");
        await page.Keyboard.PressAsync("a");
        await session.WaitForInteractiveAsync("queue");

        var status = await fixture.Host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Allowed, Wait, "the shortcut's decision");
        Assert.Equal(["harassment"], status.Labels);
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Revealing_PII_asks_for_a_reason_and_is_audited()
    {
        var escalation = ReviewHost.Item(tenant: "t-reveal", text: "Call me at jane.doe@example.com tonight");
        var id = await Reviews.EscalateAsync(escalation, Ct);
        await using var session = await fixture.SignInAsync("rhea", "rhea-pass");
        await session.Page.ClickAsync($"#claim-{id}");
        await session.WaitForInteractiveAsync("item");
        var page = session.Page;

        var masked = await page.TextContentAsync("#content");
        Assert.DoesNotContain("jane.doe@example.com", masked, StringComparison.Ordinal);
        Assert.Contains("<EMAIL_ADDRESS>", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe@example.com", await page.TextContentAsync("#conversation"), StringComparison.Ordinal);

        await page.Keyboard.PressAsync("r");
        await page.WaitForSelectorAsync("#reveal-reason:focus");
        await page.Keyboard.PressAsync("Enter"); // no reason
        await page.WaitForSelectorAsync("#message:has-text('give a reason')");
        Assert.Contains("<EMAIL_ADDRESS>", await page.TextContentAsync("#content"), StringComparison.Ordinal);
        await page.FillAsync("#reveal-reason", "checking the address is a real person's");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForSelectorAsync("#content:has-text('jane.doe@example.com')");
        await session.ScreenshotAsync("item-revealed");

        await Deadline.WaitUntilAsync(async () => (await fixture.Host.PublishedAsync(ReviewNames.PiiRevealedTopic, id)).Count > 0, Wait, "review.pii_revealed");
        var audited = Assert.Single(await fixture.Host.PublishedAsync(ReviewNames.PiiRevealedTopic, id));
        Assert.Contains("\"reviewer\":\"rhea\"", audited, StringComparison.Ordinal);
        Assert.Contains("checking the address is a real person", audited, StringComparison.Ordinal);

        // The subject is erased while the page shows the revealed original: the live reload must not keep it on screen.
        using (var dapr = new Dapr.Client.DaprClientBuilder().UseHttpEndpoint(fixture.Host.Sidecar.HttpEndpoint).UseGrpcEndpoint(fixture.Host.Sidecar.GrpcEndpoint).Build())
        {
            await dapr.PublishEventAsync(DaprLlm.Contracts.DaprComponents.PubSub, DaprLlm.Contracts.Topics.SubjectErased,
                new DaprLlm.Contracts.Events.SubjectErasedV1("t-reveal", "user-1", "psn_x", "eu", DateTimeOffset.UtcNow, "root", [escalation.RequestId]), Ct);
        }

        await page.WaitForSelectorAsync("#content:has-text('[erased]')");
        Assert.DoesNotContain("jane.doe@example.com", await page.TextContentAsync("#review-page"), StringComparison.Ordinal);
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Revealed_content_leaves_the_open_item_page_when_the_reviewers_access_is_withdrawn()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-withdraw", text: "Call me at jane.doe@example.com tonight"), Ct);
        await using var session = await fixture.SignInAsync("wdr", "wdr-pass");
        var page = session.Page;
        await page.ClickAsync($"#claim-{id}");
        await session.WaitForInteractiveAsync("item");
        await page.ClickAsync("#reveal");
        await page.FillAsync("#reveal-reason", "checking the address is a real person's");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForSelectorAsync("#content:has-text('jane.doe@example.com')");

        // An admin takes the tenant away while the page shows the original (as the admin page does: save, then notify).
        var directory = fixture.Host.App.Services.GetRequiredService<DaprLlm.Safety.Review.Accounts.ReviewerDirectory>();
        await directory.AssignTenantsAsync(ReviewHost.Account("root", ["admin"], ["*"]), "wdr", ["t-elsewhere"], Ct);
        fixture.Host.App.Services.GetRequiredService<ReviewQueueNotifier>().Notify();

        // The live reload is refused: the page says why and keeps neither the content nor the decide buttons.
        await page.WaitForSelectorAsync("#message:has-text('was not found')");
        Assert.Equal(0, await page.Locator("#content").CountAsync());
        Assert.Equal(0, await page.Locator("#block").CountAsync());
        Assert.DoesNotContain("jane.doe", await page.TextContentAsync("#review-page"), StringComparison.Ordinal);
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Reviewers_see_only_their_tenants_and_roles()
    {
        var own = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-iso-a"), Ct);
        var other = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-iso-b"), Ct);
        await using var session = await fixture.SignInAsync("iso", "iso-pass");
        var page = session.Page;

        await page.WaitForSelectorAsync($"tr[data-id='{own}']");
        Assert.Equal(0, await page.Locator($"tr[data-id='{other}']").CountAsync());
        // Another tenant's item is "not found", even by its URL.
        await session.GotoAsync($"/review/items/{other}", "item");
        await page.WaitForSelectorAsync("#message:has-text('was not found')");
        Assert.Equal(0, await page.Locator("#content").CountAsync());
        // The admin page needs the admin role: a reviewer is sent to sign in as someone else.
        await page.GotoAsync("/review/admin");
        Assert.Contains("/review/login", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#reviewers").CountAsync());
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task An_admin_assigns_a_reviewers_tenants_with_the_keyboard_and_the_reviewer_then_sees_them()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-assign"), Ct);
        await using (var before = await fixture.SignInAsync("asg", "asg-pass"))
        {
            await before.Page.WaitForSelectorAsync("#empty");
            Assert.Equal(0, await before.Page.Locator($"tr[data-id='{id}']").CountAsync());
        }

        await using var admin = await fixture.SignInAsync("shot", "shot-pass");
        await admin.Page.Keyboard.PressAsync("m");
        await admin.WaitForInteractiveAsync("admin");
        await admin.Page.FocusAsync("#tenants-asg");
        await admin.Page.Keyboard.PressAsync("Control+A");
        await admin.Page.Keyboard.TypeAsync("t-unassigned, t-assign");
        await admin.Page.Keyboard.PressAsync("Enter");
        await admin.Page.WaitForSelectorAsync("#message:has-text('Saved tenants of asg')");

        // A fresh session of the reviewer sees the new tenant's item.
        await using var after = await fixture.SignInAsync("asg", "asg-pass");
        await after.Page.WaitForSelectorAsync($"tr[data-id='{id}']");
        admin.AssertNoConsoleErrors();
        after.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_tenant_taken_from_a_signed_in_reviewer_leaves_their_open_queue_at_once()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-revoke"), Ct);
        await using var reviewer = await fixture.SignInAsync("rvk", "rvk-pass");
        await reviewer.Page.WaitForSelectorAsync($"tr[data-id='{id}']");

        await using var admin = await fixture.SignInAsync("shot", "shot-pass");
        await admin.GotoAsync("/review/admin", "admin");
        await admin.Page.FillAsync("#tenants-rvk", "t-elsewhere");
        await admin.Page.FocusAsync("#tenants-rvk");
        await admin.Page.Keyboard.PressAsync("Enter");
        await admin.Page.WaitForSelectorAsync("#message:has-text('Saved tenants of rvk')");

        // The reviewer's session is hours long; the change applies to it now, without signing in again.
        await reviewer.Page.WaitForSelectorAsync("#empty");
        await reviewer.GotoAsync($"/review/items/{id}", "item");
        await reviewer.Page.WaitForSelectorAsync("#message:has-text('was not found')");
        Assert.Equal(0, await reviewer.Page.Locator("#content").CountAsync());
        reviewer.AssertNoConsoleErrors();
        admin.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_sidecar_outage_shows_a_message_instead_of_ending_the_session_and_the_page_works_again_after_it()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-outage"), Ct);
        await using var session = await fixture.SignInAsync("out", "out-pass");
        var page = session.Page;
        await page.WaitForSelectorAsync($"tr[data-id='{id}']");

        await fixture.Host.Sidecar.KillAsync();
        try
        {
            await page.ClickAsync($"#claim-{id}");
            // Still the live queue page: the circuit survived and says what happened.
            await page.WaitForSelectorAsync($"#message:has-text('{ReviewerPage.UnavailableMessage[..40]}')");
            Assert.Equal(1, await page.Locator("#review-page[data-page='queue']").CountAsync());
        }
        finally
        {
            await fixture.Host.Sidecar.RestartAsync(ReviewHost.StartTimeout);
            // The app's gRPC channel reconnects with backoff; the class's other tests need it back.
            await Deadline.WaitUntilAsync(async () =>
            {
                try
                {
                    await Reviews.QueueAsync(ReviewHost.Sam, Ct);
                    return true;
                }
                catch (Dapr.DaprException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(90), "the app to reach its restarted sidecar");
        }

        // The same page, no reload: the next click goes through.
        // (The app's gRPC channel to the sidecar reconnects with backoff, so the first clicks may still fail.)
        await Deadline.WaitUntilAsync(async () =>
        {
            if (await page.Locator($"#claim-{id}").CountAsync() > 0)
            {
                await page.ClickAsync($"#claim-{id}");
            }

            try
            {
                await page.WaitForSelectorAsync("#review-page[data-page='item']", new() { Timeout = 2000 });
                return true;
            }
            catch (Exception e) when (e is TimeoutException or PlaywrightException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), "a claim after the sidecar is back");
        await session.WaitForInteractiveAsync("item");
        Assert.Equal("out", (await page.TextContentAsync("#claimed-by"))?.Trim());
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task The_queue_updates_live_when_a_new_item_arrives()
    {
        await using var session = await fixture.SignInAsync("liv", "liv-pass");
        var page = session.Page;
        var low = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-live", severity: "low"), Ct);
        await page.WaitForSelectorAsync($"tr[data-id='{low}']");

        var critical = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-live", severity: "critical"), Ct);

        // No reload: the new, more urgent item appears at the top of the open page.
        await page.WaitForSelectorAsync($"#queue tbody tr:first-child[data-id='{critical}']");
        Assert.Equal("2", (await page.TextContentAsync("#queue-count"))?.Trim());
        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_the_main_pages_render_without_console_errors()
    {
        await using var session = await ReviewerSession.OpenAsync(fixture.Browser, fixture.BaseAddress);
        await session.Page.GotoAsync("/review/login");
        await session.Page.FillAsync("#username", "shot");
        await session.Page.FillAsync("#password", "not-the-password");
        await session.Page.ClickAsync("#sign-in");
        await session.Page.WaitForSelectorAsync("#message:has-text('Wrong user name or password')");
        await session.ScreenshotAsync("login");

        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-shot", severity: "high",
            categories: new Dictionary<string, double> { ["violence"] = 0.71, ["harassment"] = 0.33, ["hate"] = 0.08 }), Ct);
        await session.SignInAsync("shot", "shot-pass");
        await session.Page.WaitForSelectorAsync($"tr[data-id='{id}']");
        await session.ScreenshotAsync("queue");
        await session.Page.ClickAsync($"#claim-{id}");
        await session.WaitForInteractiveAsync("item");
        // The item view shows the evidence: scores, rule hits and the surrounding conversation.
        Assert.Contains("violence", await session.Page.TextContentAsync("#scores"), StringComparison.Ordinal);
        Assert.Contains("0.71", await session.Page.TextContentAsync("#scores"), StringComparison.Ordinal);
        Assert.Contains("deny-term:example", await session.Page.TextContentAsync("#rule-hits"), StringComparison.Ordinal);
        Assert.Equal(2, await session.Page.Locator("#conversation li").CountAsync());
        Assert.Contains("You are helpful.", await session.Page.TextContentAsync("#conversation"), StringComparison.Ordinal);
        await session.ScreenshotAsync("item");
        await session.GotoAsync("/review/stats", "stats");
        await session.ScreenshotAsync("stats");
        await session.GotoAsync("/review/admin", "admin");
        await session.ScreenshotAsync("admin");

        foreach (var name in new[] { "login", "queue", "item", "stats", "admin" })
        {
            Assert.True(new FileInfo(Path.Combine(BrowserFixture.ScreenshotFolder, name + ".png")).Length > 1000, $"screenshot {name}");
        }

        session.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Decisions_are_exported_as_labelled_examples_for_admins_only()
    {
        var id = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-feedback", text: "mail jane.doe@example.com a threat",
            categories: new Dictionary<string, double> { ["violence"] = 0.64, ["hate"] = 0.12 }), Ct);
        await using var admin = await fixture.SignInAsync("shot", "shot-pass");
        await admin.Page.ClickAsync($"#claim-{id}");
        await admin.WaitForInteractiveAsync("item");
        await admin.Page.Keyboard.PressAsync("8"); // violence
        await admin.Page.Keyboard.PressAsync("b");
        await admin.WaitForInteractiveAsync("queue");
        await fixture.Host.WaitForStatusAsync(id, s => s.Status == ReviewStatuses.Blocked, Wait, "the decision");

        string? line = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            var export = await admin.Page.APIRequest.GetAsync("/review/feedback.jsonl");
            line = (await export.TextAsync()).Split('\n').FirstOrDefault(l => l.Contains(id, StringComparison.Ordinal));
            return line is not null;
        }, Wait, "the labelled example in the export");

        var row = DaprLlm.SafetyRecalibrate.LabelledRow.Parse(line!)!;
        Assert.Equal(1, row.Label);
        Assert.Contains("violence", row.Categories);
        Assert.Equal(0.64, row.Scores["violence"]);
        Assert.DoesNotContain("jane.doe@example.com", line, StringComparison.Ordinal);
        await using var reviewer = await fixture.SignInAsync("liv", "liv-pass");
        var refused = await reviewer.Page.APIRequest.GetAsync("/review/feedback.jsonl", new() { MaxRedirects = 0 });
        Assert.Equal(302, refused.Status);
        Assert.Contains("/review/login", refused.Headers["location"], StringComparison.Ordinal);
        // An admin of other tenants gets the export without this tenant's example.
        await using var scoped = await fixture.SignInAsync("scoped", "scoped-pass");
        var other = await scoped.Page.APIRequest.GetAsync("/review/feedback.jsonl");
        Assert.Equal(200, other.Status);
        Assert.DoesNotContain(id, await other.TextAsync(), StringComparison.Ordinal);
        admin.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Enter_on_a_focused_button_is_that_button_s_action_and_a_scoped_admin_lists_only_its_reviewers()
    {
        var first = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-tab", severity: "critical"), Ct);
        var second = await Reviews.EscalateAsync(ReviewHost.Item(tenant: "t-tab"), Ct);
        await using (var session = await fixture.SignInAsync("tab", "tab-pass"))
        {
            await session.WaitForInteractiveAsync("queue");
            await session.Page.WaitForSelectorAsync($"tr.selected[data-id='{first}']");

            // The keyboard user tabbed to the second row's Claim: Enter claims that row, not the highlighted first one.
            await session.Page.FocusAsync($"#claim-{second}");
            await session.Page.Keyboard.PressAsync("Enter");
            await session.WaitForInteractiveAsync("item");
            Assert.Contains(second, session.Page.Url, StringComparison.Ordinal);
            session.AssertNoConsoleErrors();
        }

        // An admin of t-scope sees no reviewer of other tenants (their tenant ids are other customers' business).
        await using var scoped = await fixture.SignInAsync("scoped", "scoped-pass");
        await scoped.GotoAsync("/review/admin", "admin");
        Assert.Equal(0, await scoped.Page.Locator("#tenants-kira").CountAsync());
        Assert.Equal(0, await scoped.Page.Locator("#tenants-shot").CountAsync());
        scoped.AssertNoConsoleErrors();
    }

    private static async Task<ReviewerSession> WhichAsync(ReviewerSession first, ReviewerSession second, string id)
    {
        ReviewerSession? winner = null;
        await Deadline.WaitUntilAsync(async () =>
        {
            foreach (var s in new[] { first, second })
            {
                if (await s.Page.Locator("#review-page[data-page='item'][data-interactive='true']").CountAsync() > 0)
                {
                    winner = s;
                    return true;
                }
            }

            return false;
        }, Wait, $"one reviewer to open {id}");
        return winner!;
    }
}
