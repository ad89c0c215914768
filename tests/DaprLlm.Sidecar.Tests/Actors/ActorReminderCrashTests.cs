using System.Net;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Actors;

/// <summary>
/// Reminders fire at least once, as with daprd's scheduler: a sidecar killed while the app runs a reminder's callback
/// does not lose that firing (the store is state.sqlite, kept across the sidecar's restart). The claim that stops other
/// scans from firing it meanwhile is renewed while the callback runs, so a slow callback is not fired twice.
/// </summary>
public sealed class ActorReminderCrashTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Claim = TimeSpan.FromSeconds(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_one_shot_reminder_whose_callback_was_running_when_the_sidecar_was_killed_fires_again_after_a_restart()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe { HoldRemindersNamed = "held" };
        var environment = new Dictionary<string, string> { ["DaprLlm__Reminders__ClaimDuration"] = Claim.ToString() };
        await using var node = await ActorNode.StartAsync("A", "actor-reminder-crash", ActorComponents.Sqlite(folder, out _), folder.Sub("registry"), probe,
            ActorAppSettings.Default, environment);
        var id = Guid.NewGuid().ToString("N");
        try
        {
            await node.Proxy(id).AddReminderAsync("held", 100, 0);
            await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == id), Wait, "the reminder's callback to start");

            // The sidecar dies before the app answers; the app then finishes, but its answer reaches no one.
            await node.Sidecar.KillAsync();
            probe.ReleaseHeldReminders();
            await node.Sidecar.RestartAsync();
            await Deadline.WaitUntilAsync(() => probe.Reminders.Count(r => r.Id == id) >= 2, Wait, "the reminder to fire again after the restart");
        }
        finally
        {
            probe.ReleaseHeldReminders();
        }

        // Answered this time: the one-shot reminder is done and removed, after exactly one more firing.
        using var http = new HttpClient { BaseAddress = new Uri(node.Sidecar.HttpEndpoint) };
        await Deadline.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync($"/v1.0/actors/{nameof(CounterActor)}/{id}/reminders/held", Ct);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, Wait, "the fired reminder to be removed");
        Assert.Equal(2, probe.Reminders.Count(r => r.Id == id && r.Name == "held"));
    }

    [Fact]
    public async Task A_reminder_whose_callback_outlasts_its_claim_fires_once()
    {
        using var folder = new TempFolder();
        var probe = new ActorProbe { HoldRemindersNamed = "slow" };
        var environment = new Dictionary<string, string> { ["DaprLlm__Reminders__ClaimDuration"] = Claim.ToString() };
        await using var node = await ActorNode.StartAsync("A", "actor-reminder-slow", ActorComponents.InMemory(folder), folder.Sub("registry"), probe,
            ActorAppSettings.Default, environment);
        var id = Guid.NewGuid().ToString("N");
        try
        {
            await node.Proxy(id).AddReminderAsync("slow", 100, 0);
            await Deadline.WaitUntilAsync(() => probe.Reminders.Any(r => r.Id == id), Wait, "the reminder's callback to start");
            var firstAt = probe.Reminders.First(r => r.Id == id).At;
            await Deadline.WaitUntilAsync(() => DateTimeOffset.UtcNow > firstAt + 3 * Claim, Wait, "three claim durations to pass during the callback");
        }
        finally
        {
            probe.ReleaseHeldReminders();
        }

        using var http = new HttpClient { BaseAddress = new Uri(node.Sidecar.HttpEndpoint) };
        await Deadline.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync($"/v1.0/actors/{nameof(CounterActor)}/{id}/reminders/slow", Ct);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, Wait, "the fired reminder to be removed");

        // A firing fired again by a scan would wait for the actor's turn behind the slow one; this call's turn comes after it.
        await node.Proxy(id).GetCountAsync();
        Assert.Single(probe.Reminders, r => r.Id == id);
    }

    [Fact]
    public async Task A_reminder_claim_duration_out_of_range_stops_the_sidecar_at_start()
    {
        using var folder = new TempFolder();
        var settings = new SidecarSettings("reminder-claim-invalid", folder.Sub("components"), folder.Sub("registry"))
        {
            Environment = new Dictionary<string, string> { ["DaprLlm__Reminders__ClaimDuration"] = "00:00:00" },
        };

        var (exitCode, output) = await SidecarProcess.RunExpectingFailureAsync(settings, Wait);

        Assert.Equal(1, exitCode);
        Assert.Contains("ClaimDuration", output, StringComparison.Ordinal);
    }
}
