using System.Collections.Concurrent;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>Keeps a gateway host's recent log lines so a failed start or test can show them.</summary>
public sealed class LogBuffer : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public override string ToString() => string.Join(Environment.NewLine, _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogBuffer buffer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug; // Debug only where a test sets Logging:LogLevel:<category>

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            buffer._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}");
            while (buffer._lines.Count > 500 && buffer._lines.TryDequeue(out _))
            {
            }
        }
    }
}
