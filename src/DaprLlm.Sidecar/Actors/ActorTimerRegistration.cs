using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.Actors;

/// <summary>An in-memory actor timer: lost when its actor is deactivated, as in daprd.</summary>
public sealed class ActorTimerRegistration(string name, JsonObject body, ActorSchedule schedule) : IDisposable
{
    public string Name { get; } = name;

    /// <summary>What the app registered; echoed back on each firing (callback, data, dueTime, period).</summary>
    public JsonObject Body { get; } = body;

    public ActorSchedule Schedule { get; } = schedule;

    public ITimer? Timer { get; set; }

    /// <summary>When the next firing is due (the timer may be armed for an earlier step of a long wait).</summary>
    public DateTimeOffset DueAt { get; set; }

    public int Fired { get; set; }

    public bool Stopped { get; private set; }

    public void Dispose()
    {
        Stopped = true;
        Timer?.Dispose();
    }
}
