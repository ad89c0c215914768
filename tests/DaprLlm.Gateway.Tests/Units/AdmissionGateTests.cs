using DaprLlm.Gateway.Backpressure;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>Weighted fair queuing and shedding of the admission gate, in-process.</summary>
public sealed class AdmissionGateTests
{
    [Fact]
    public async Task Freed_places_go_to_tiers_by_weight_enterprise_first()
    {
        var gate = new AdmissionGate(Options.Create(new AdmissionOptions { MaxInFlight = 1, MaxQueued = 100, MaxWait = TimeSpan.FromMinutes(1), EnterpriseWeight = 2, ProWeight = 1, FreeWeight = 1 }));
        var ct = TestContext.Current.CancellationToken;
        var holder = await gate.EnterAsync("free", ct);
        var order = new List<string>();
        var waits = new List<Task>();
        foreach (var tier in new[] { "free", "free", "pro", "enterprise", "enterprise", "enterprise" })
        {
            var t = tier;
            waits.Add(Task.Run(async () =>
            {
                var place = await gate.EnterAsync(t, ct);
                lock (order)
                {
                    order.Add(t);
                }

                place!.Dispose();
            }, ct));
            await Deadline.WaitUntilAsync(() => gate.Queued == waits.Count, TimeSpan.FromSeconds(5), "the request to queue");
        }

        holder!.Dispose();
        await Task.WhenAll(waits);
        Assert.Equal(["enterprise", "enterprise", "pro", "free", "enterprise", "free"], order);
    }

    [Fact]
    public async Task A_full_queue_sheds_at_once_and_a_cancelled_waiter_leaves_the_queue()
    {
        var gate = new AdmissionGate(Options.Create(new AdmissionOptions { MaxInFlight = 1, MaxQueued = 1, MaxWait = TimeSpan.FromMinutes(1) }));
        var ct = TestContext.Current.CancellationToken;
        using var holder = await gate.EnterAsync("pro", ct);
        using var leave = new CancellationTokenSource();
        var waiting = gate.EnterAsync("pro", leave.Token).AsTask();
        await Deadline.WaitUntilAsync(() => gate.Queued == 1, TimeSpan.FromSeconds(5), "the waiter");

        Assert.Null(await gate.EnterAsync("enterprise", ct));
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task A_wait_past_the_limit_is_shed()
    {
        var gate = new AdmissionGate(Options.Create(new AdmissionOptions { MaxInFlight = 1, MaxQueued = 5, MaxWait = TimeSpan.FromMilliseconds(100) }));
        var ct = TestContext.Current.CancellationToken;
        using var holder = await gate.EnterAsync("pro", ct);
        Assert.Null(await gate.EnterAsync("free", ct));
        Assert.Equal(0, gate.Queued);
    }
}
