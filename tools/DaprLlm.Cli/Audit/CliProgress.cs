using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary>A Spectre progress bar over a list of steps (regions to verify, alerts to acknowledge); one bar per run.</summary>
public static class CliProgress
{
    /// <summary>Runs <paramref name="step"/> for each item in order, advancing the bar; stops at the first step that returns false.</summary>
    public static Task ForEachAsync<T>(IAnsiConsole console, string label, IReadOnlyList<T> items, Func<T, Task<bool>> step) =>
        console.Progress().AutoClear(false).HideCompleted(false).StartAsync(async context =>
        {
            var task = context.AddTask(label, maxValue: Math.Max(1, items.Count));
            foreach (var item in items)
            {
                task.Description = $"{label} {item}";
                if (!await step(item))
                {
                    return;
                }

                task.Increment(1);
            }

            task.Description = label;
        });
}
