using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Secrets;

namespace DaprLlm.Sidecar.Components;

/// <summary>Creates the runtime object of one component type ("state.redis", ...). Features register one per type.</summary>
public interface IComponentFactory
{
    /// <summary>Component types this factory builds, as written in spec.type.</summary>
    IReadOnlyCollection<string> Types { get; }

    /// <summary>Builds and connects the component; throws <see cref="ComponentConfigException"/> on bad metadata.</summary>
    ValueTask<object> CreateAsync(ComponentSpec spec, CancellationToken cancellationToken);
}

/// <summary>
/// Every resource loaded for this app id, and the live components built from them. Built once at start;
/// any unknown type or bad file stops the sidecar (never a silent in-memory fallback).
/// </summary>
public sealed class ComponentRegistry(SidecarOptions options, IEnumerable<IComponentFactory> factories, ILogger<ComponentRegistry> logger)
    : IAsyncDisposable
{
    private readonly Dictionary<string, (ComponentSpec Spec, object Instance)> _components = new(StringComparer.Ordinal);
    private IReadOnlyList<ResourceDocument> _documents = [];

    /// <summary>The --config Configuration spec (tracing, features...), or an empty object.</summary>
    public JsonObject Configuration { get; private set; } = [];

    public IReadOnlyCollection<ComponentSpec> Components => _components.Values.Select(c => c.Spec).ToList();

    /// <summary>Documents of one kind (Resiliency, Subscription, ...) scoped to this app.</summary>
    public IReadOnlyList<ResourceDocument> Documents(string kind) =>
        _documents.Where(d => d.Kind == kind && d.AppliesTo(options.AppId)).ToList();

    public bool TryGet<T>(string name, out T component)
        where T : class
    {
        if (_components.TryGetValue(name, out var entry) && entry.Instance is T typed)
        {
            component = typed;
            return true;
        }

        component = null!;
        return false;
    }

    public IEnumerable<(ComponentSpec Spec, T Instance)> All<T>()
        where T : class =>
        _components.Values.Where(c => c.Instance is T).Select(c => (c.Spec, (T)c.Instance));

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        _documents = ResourceLoader.LoadPaths(options.ResourcesPaths);
        if (options.ConfigPath is { } configPath)
        {
            var config = ResourceLoader.LoadFile(configPath).FirstOrDefault(d => d.Kind == "Configuration")
                ?? throw new ComponentConfigException($"{configPath}: --config file has no Configuration document");
            Configuration = config.Spec;
            SecretScopesRules.Validate(Configuration, configPath);
        }

        var byType = new Dictionary<string, IComponentFactory>(StringComparer.Ordinal);
        foreach (var factory in factories)
        {
            foreach (var type in factory.Types)
            {
                byType[type] = factory;
            }
        }

        var componentDocs = _documents.Where(d => d.Kind == "Component" && d.AppliesTo(options.AppId)).ToList();
        foreach (var duplicate in componentDocs.GroupBy(d => d.Name).Where(g => g.Count() > 1))
        {
            throw new ComponentConfigException(
                $"component '{duplicate.Key}' is defined twice: {string.Join(" and ", duplicate.Select(d => d.SourceFile))}");
        }

        var template = MetadataTemplate.FromEnvironment(options.AppId);
        // Secret stores first: other components may reference them through secretKeyRef.
        foreach (var doc in componentDocs.OrderBy(d => IsSecretStore(d) ? 0 : 1))
        {
            var spec = ComponentSpecReader.Read(doc, IsSecretStore(doc) ? null : ResolveSecret, template);
            var versionedType = $"{spec.Type}/{spec.Version}";
            if (!byType.TryGetValue(spec.Type, out var factory) && !byType.TryGetValue(versionedType, out factory))
            {
                throw new ComponentConfigException(spec,
                    $"type '{spec.Type}' is not supported by the local sidecar (supported: {string.Join(", ", byType.Keys.Order())})");
            }

            try
            {
                var instance = await factory.CreateAsync(spec, cancellationToken);
                _components[spec.Name] = (spec, instance);
                logger.LogInformation("Component loaded: {Name} ({Type}/{Version})", spec.Name, spec.Type, spec.Version);
            }
            catch (ComponentConfigException)
            {
                throw;
            }
            catch (Exception e) when (spec.IgnoreErrors)
            {
                logger.LogWarning(e, "Component {Name} failed to initialise and has ignoreErrors: true; skipped", spec.Name);
            }
            catch (Exception e)
            {
                throw new ComponentConfigException(spec, $"failed to initialise: {e.Message}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, instance) in _components.Values)
        {
            switch (instance)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync();
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }

        _components.Clear();
    }

    private static bool IsSecretStore(ResourceDocument doc) =>
        doc.Spec["type"]?.GetValue<string>()?.StartsWith("secretstores.", StringComparison.Ordinal) == true;

    private string ResolveSecret(string storeName, string secretName, string key)
    {
        if (!TryGet<ISecretStore>(storeName, out var store))
        {
            throw new ComponentConfigException($"secret store '{storeName}' referenced by a secretKeyRef is not loaded for app '{options.AppId}'");
        }

        var secret = store.GetAsync(secretName, new Dictionary<string, string>(), CancellationToken.None).AsTask().GetAwaiter().GetResult()
            ?? throw new ComponentConfigException($"secret '{secretName}' not found in secret store '{storeName}'");
        return secret.TryGetValue(key, out var value)
            ? value
            : throw new ComponentConfigException($"secret '{secretName}' in store '{storeName}' has no key '{key}'");
    }
}
