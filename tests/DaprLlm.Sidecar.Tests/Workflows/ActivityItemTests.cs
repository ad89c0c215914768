using Dapr.DurableTask.Protobuf;
using DaprLlm.Sidecar.Workflows;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// An activity whose worker stream closes while it is being handed out goes back to the queue once (source linked
/// from the sidecar; the race cannot be timed from outside the process).
/// </summary>
public sealed class ActivityItemTests
{
    [Fact]
    public void An_item_whose_stream_closes_between_pick_and_write_is_taken_back_once()
    {
        var item = new ActivityItem { Token = "t", Request = new ActivityRequest { Name = "A" } };
        var connection = new WorkerConnection();
        var requeued = 0;

        // The dispatcher picked the stream and hands the item to it ...
        item.HandTo(connection);
        // ... the stream closes: the disconnect handler takes back what was handed to it ...
        connection.Items.Writer.TryComplete();
        if (item.TakeBack(connection))
        {
            requeued++;
        }

        // ... and the dispatcher's write fails.
        if (!connection.Items.Writer.TryWrite(item.ToWorkItem()) && item.TakeBack(connection))
        {
            requeued++;
        }

        Assert.Equal(1, requeued);
        Assert.Null(item.Connection);
    }

    [Fact]
    public void An_item_handed_out_again_is_not_taken_back_by_the_old_stream_closing()
    {
        var item = new ActivityItem { Token = "t", Request = new ActivityRequest { Name = "A" } };
        var old = new WorkerConnection();
        var current = new WorkerConnection();

        item.HandTo(old);
        Assert.True(item.TakeBack(old));
        item.HandTo(current);

        Assert.False(item.TakeBack(old));
        Assert.Same(current, item.Connection);
    }
}
