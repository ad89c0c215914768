using System.Collections.Concurrent;

namespace DaprLlm.Sidecar.Tests.Workflows;

/// <summary>
/// Test-side state shared with the app's activities: attempt counters and gates that hold an activity
/// until the test releases it (to kill processes while an activity is in flight).
/// </summary>
public sealed class WorkflowProbe
{
    private readonly ConcurrentDictionary<string, int> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new(StringComparer.Ordinal);

    public int Increment(string key) => _counters.AddOrUpdate(key, 1, (_, n) => n + 1);

    public int Count(string key) => _counters.TryGetValue(key, out var n) ? n : 0;

    public TaskCompletionSource Gate(string key) =>
        _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Open(string key) => Gate(key).TrySetResult();
}
