using System.Text.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Secrets;

/// <summary>One sidecar with file, multi-valued file and env secret stores, and a state store configured through secretKeyRef.</summary>
public sealed class SecretsSidecar : IAsyncLifetime
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly TempFolder _folder = new("daprllm-secrets");
    private SidecarProcess? _sidecar;

    public SidecarProcess Sidecar => _sidecar ?? throw new InvalidOperationException("not started");

    public string DatabaseFile => Path.Combine(_folder.Path, "from-secret.db");

    public async ValueTask InitializeAsync()
    {
        var components = _folder.Sub("components");
        var secrets = _folder.Write("secrets.json", JsonSerializer.Serialize(new
        {
            apiKey = "k-123",
            db = new { password = "p@ss", hosts = new[] { "a", "b" } },
            sqlite = new { connection = "file:" + DatabaseFile },
        }));
        var multi = _folder.Write("multi.json", """{"db": {"user": "admin", "password": "pw"}, "single": "one", "team/token": "t-1", "a b": "spaced"}""");
        _folder.Write("components/file.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: filestore
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
              - name: secretsFile
                value: "{secrets}"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: multistore
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
              - name: secretsFile
                value: "{multi}"
              - name: multiValued
                value: "true"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: envstore
            spec:
              type: secretstores.local.env
              version: v1
              metadata:
              - name: prefix
                value: "MYAPP_"
            """);

        // A component whose metadata comes from a secret: the sidecar must resolve it before building the store.
        _folder.Write("components/state.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: statestore
            spec:
              type: state.sqlite
              version: v1
              metadata:
              - name: connectionString
                secretKeyRef:
                  name: sqlite:connection
                  key: sqlite:connection
            auth:
              secretStore: filestore
            """);
        _sidecar = await SidecarProcess.StartAsync(new SidecarSettings("secrets-app", components, _folder.Sub("registry"))
        {
            Environment = new Dictionary<string, string> { ["MYAPP_TOKEN"] = "from-env", ["DAPR_SECRET_THING"] = "hidden" },
        }, StartTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        _folder.Dispose();
    }

}
