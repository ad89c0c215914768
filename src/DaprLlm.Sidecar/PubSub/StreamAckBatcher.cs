using System.Threading.Channels;
using StackExchange.Redis;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// Acknowledges Redis stream entries in batches: every handler that finished waits for its XACK as before (so an entry
/// counts as processed only once Redis has the ack), but the acks that arrive while one XACK is on the wire leave
/// together in the next one. Under load that is one command for many entries instead of one each, which saves CPU
/// in Redis, in the client and in the continuations, all on the same few cores.
/// </summary>
internal sealed class StreamAckBatcher : IAsyncDisposable
{
    private const int MaxBatch = 256;

    private readonly Func<IDatabase> _database;
    private readonly RedisKey _stream;
    private readonly RedisValue _group;
    private readonly Channel<(RedisValue Id, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(RedisValue, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Task _loop;

    public StreamAckBatcher(Func<IDatabase> database, string stream, string group)
    {
        _database = database;
        _stream = stream;
        _group = group;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes once the entry's XACK has been answered; throws when it failed (the entry stays pending).</summary>
    public Task AcknowledgeAsync(string id)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((id, done)))
        {
            done.SetException(new ObjectDisposedException(nameof(StreamAckBatcher)));
        }

        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        // Acks already queued are still sent: the loop ends once the queue is empty.
        _queue.Writer.TryComplete();
        await _loop;
    }

    private async Task RunAsync()
    {
        var ids = new List<RedisValue>(MaxBatch);
        var waiting = new List<TaskCompletionSource>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (ids.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                ids.Add(item.Id);
                waiting.Add(item.Done);
            }

            try
            {
                await _database().StreamAcknowledgeAsync(_stream, _group, [.. ids]);
                foreach (var done in waiting)
                {
                    done.TrySetResult();
                }
            }
            catch (Exception e)
            {
                foreach (var done in waiting)
                {
                    done.TrySetException(e);
                }
            }

            ids.Clear();
            waiting.Clear();
        }
    }
}
