using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace DaprLlm.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Writes every resource's console output (apps, sidecars, Redis), which the testing host forwards to
/// ILogger categories "&lt;AppHost&gt;.Resources.&lt;resource&gt;", into one file per resource under e2e-logs/
/// in the test output folder, so a failing end-to-end run can be diagnosed afterwards.
/// </summary>
public sealed class ResourceLogFiles : ILoggerProvider
{
    private const string Marker = ".Resources.";
    private readonly ConcurrentDictionary<string, StreamWriter> _files = new();

    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "e2e-logs");

    public ILogger CreateLogger(string categoryName)
    {
        var index = categoryName.IndexOf(Marker, StringComparison.Ordinal);
        if (index < 0)
        {
            return Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        }

        var resource = categoryName[(index + Marker.Length)..];
        var writer = _files.GetOrAdd(resource, name =>
        {
            Directory.CreateDirectory(Folder);
            return new StreamWriter(Path.Combine(Folder, $"{name}.log"), append: false) { AutoFlush = true };
        });
        return new FileLogger(writer);
    }

    public void Dispose()
    {
        foreach (var writer in _files.Values)
        {
            lock (writer)
            {
                writer.Dispose();
            }
        }
    }

    private sealed class FileLogger(StreamWriter writer) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (writer)
            {
                if (writer.BaseStream.CanWrite)
                {
                    writer.WriteLine(formatter(state, exception));
                }
            }
        }
    }
}
