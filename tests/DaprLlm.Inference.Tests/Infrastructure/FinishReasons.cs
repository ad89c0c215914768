using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>
/// Records the finish reason of every request one app's meter sees end (the gen_ai.server.request.duration tag);
/// only that app's meter, so other tests running at the same time do not count.
/// </summary>
public sealed class FinishReasons : IDisposable
{
    private readonly MeterListener _listener = new();

    public FinishReasons(IServiceProvider services)
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "gen_ai.server.request.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "gen_ai.response.finish_reasons")
                {
                    Seen.Enqueue((string)tag.Value!);
                }
            }
        });
        _listener.Start();
    }

    public ConcurrentQueue<string> Seen { get; } = new();

    public void Dispose() => _listener.Dispose();
}
