using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Backpressure;

/// <summary>
/// One <see cref="AdmissionGate"/> per model on this replica, so a flood on one model (a slow large one) queues and sheds
/// its own requests without taking the places of the others. Only configured model ids reach here (requests for other
/// ids are refused before admission), so the set of gates is bounded by configuration.
/// </summary>
public sealed class AdmissionGates(IOptions<AdmissionOptions> options)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AdmissionGate> _gates = new(StringComparer.Ordinal);

    public AdmissionGate For(string model) => _gates.GetOrAdd(model, _ => new AdmissionGate(options));
}
