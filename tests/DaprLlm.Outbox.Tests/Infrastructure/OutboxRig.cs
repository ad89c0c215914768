using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Outbox.Tests.Infrastructure;

/// <summary>A real outbox file in a temporary folder, opened (and reopened, as after a restart) with a recording sink.</summary>
public sealed class OutboxRig : IDisposable
{
    private readonly TempFolder _folder = new("daprllm-outbox-test");

    public OutboxRig(OutboxOptions? options = null)
    {
        Options = options ?? new OutboxOptions { BatchDelayMs = 0, MinBackoffMs = 10, MaxBackoffMs = 50 };
        Outbox = Open();
    }

    public OutboxOptions Options { get; }

    public string Path => System.IO.Path.Combine(_folder.Path, "app-test.outbox.db");

    public DurableOutbox Outbox { get; private set; }

    public RecordingSink Sink { get; } = new();

    public OutboxDrain Drain() => new(Outbox, Sink, Options, TimeProvider.System, NullLogger<OutboxDrain>.Instance);

    /// <summary>Closes the file and opens it again, as a restarted process would.</summary>
    public void Reopen()
    {
        Outbox.Dispose();
        Outbox = Open();
    }

    /// <summary>Rows in the file, counted straight from SQLite.</summary>
    public long RowsOnDisk()
    {
        using var connection = new SqliteConnection($"Data Source={Path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox";
        return (long)command.ExecuteScalar()!;
    }

    public Task WaitAsync(Func<bool> condition, string what) => Deadline.WaitUntilAsync(condition, TimeSpan.FromSeconds(30), what);

    private DurableOutbox Open() => new(Path, "app-test", Options, TimeProvider.System, NullLogger<DurableOutbox>.Instance);

    public void Dispose()
    {
        Outbox.Dispose();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }
}
