using System.Collections.Concurrent;

namespace DaprLlm.Outbox;

/// <summary>
/// A synchronization context with one dedicated thread at a lowered priority (<see cref="BackgroundPriority"/>): the drain's
/// loop runs on it, and so do its continuations (reads, request bodies, answers, deletes' bookkeeping), so publishing takes
/// the cores only when the requests leave them free. Work posted after the context ended runs on the thread pool.
/// </summary>
internal sealed class BackgroundContext : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _work = [];
    private readonly Thread _thread;

    private BackgroundContext(string name, int nice)
    {
        _thread = new Thread(() => Pump(nice)) { IsBackground = true, Name = name };
    }

    /// <summary>Runs <paramref name="run"/> and every continuation of it on a new thread at nice <paramref name="nice"/>; the thread ends with the task.</summary>
    public static Task Run(string name, int nice, Func<Task> run)
    {
        var context = new BackgroundContext(name, nice);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context._work.Add((_ =>
        {
            Task task;
            try
            {
                task = run();
            }
            catch (Exception e)
            {
                task = Task.FromException(e);
            }

            task.ContinueWith(t =>
            {
                context._work.CompleteAdding();
                if (t.IsFaulted)
                {
                    done.TrySetException(t.Exception!.InnerExceptions);
                }
                else if (t.IsCanceled)
                {
                    done.TrySetCanceled();
                }
                else
                {
                    done.TrySetResult();
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }, null));
        context._thread.Start();
        return done.Task;
    }

    public override void Post(SendOrPostCallback d, object? state)
    {
        if (!_work.IsAddingCompleted)
        {
            try
            {
                _work.Add((d, state));
                return;
            }
            catch (InvalidOperationException)
            {
                // Completed meanwhile: fall through to the pool.
            }
        }

        ThreadPool.QueueUserWorkItem(s => d(s), state, preferLocal: false);
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("the outbox's background context only posts");

    public override SynchronizationContext CreateCopy() => this;

    private void Pump(int nice)
    {
        BackgroundPriority.LowerCurrentThread(nice);
        SetSynchronizationContext(this);
        foreach (var (callback, state) in _work.GetConsumingEnumerable())
        {
            callback(state);
        }
    }
}
