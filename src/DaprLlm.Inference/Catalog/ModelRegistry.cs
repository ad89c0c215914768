using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Catalog;

/// <summary>
/// The catalog at run time: each model loads at most once (warm ones at start, lazy ones on first use, callers
/// racing for it share one load) and remembers a load failure so it is reported, not retried on every request.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly IOptions<InferenceOptions> options;
    private readonly Dictionary<string, Lazy<Task<LoadedModel>>> _models;
    private int _loads;

    public ModelRegistry(IOptions<InferenceOptions> options, ModelLoader loader)
    {
        this.options = options;
        _models = options.Value.Models.ToDictionary(
            kv => kv.Key,
            kv => new Lazy<Task<LoadedModel>>(() => Task.Run(() =>
            {
                Interlocked.Increment(ref _loads);
                return loader.Load(kv.Key, kv.Value);
            }), LazyThreadSafetyMode.ExecutionAndPublication),
            StringComparer.Ordinal);
    }

    public InferenceOptions Options => options.Value;

    /// <summary>How many model loads have started (each model at most once).</summary>
    public int Loads => Volatile.Read(ref _loads);

    public bool Contains(string id) => _models.ContainsKey(id);

    /// <summary>The loaded model (loading it once if needed); throws the load failure.</summary>
    public Task<LoadedModel> GetAsync(string id) => _models[id].Value;

    public string Status(string id)
    {
        var lazy = _models[id];
        if (!lazy.IsValueCreated)
        {
            return "not_loaded";
        }

        return lazy.Value.Status switch
        {
            TaskStatus.RanToCompletion => lazy.Value.Result switch
            {
                { Stalled: not null } => "stalled",
                { Healthy: true } => "ready",
                _ => "failed",
            },
            TaskStatus.Faulted or TaskStatus.Canceled => "failed",
            _ => "loading",
        };
    }

    public LoadedModel? IfLoaded(string id) =>
        _models[id] is { IsValueCreated: true } lazy && lazy.Value.IsCompletedSuccessfully ? lazy.Value.Result : null;

    public async Task LoadWarmAsync()
    {
        var warm = options.Value.Models.Where(kv => kv.Value.Warm).Select(kv => GetAsync(kv.Key)).ToArray();
        await Task.WhenAll(warm);
    }

    public bool WarmModelsReady => options.Value.Models.Where(kv => kv.Value.Warm).All(kv => IfLoaded(kv.Key) is not null);

    public void Dispose()
    {
        foreach (var lazy in _models.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }
    }
}
