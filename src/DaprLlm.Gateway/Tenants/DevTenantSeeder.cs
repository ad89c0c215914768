using DaprLlm.Gateway.Auth;
using Dapr.Client;
using DaprLlm.Gateway.Errors;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tenants;

/// <summary>
/// Local first run: creates the development tenant and key when none exists, so the README's first curl works.
/// The key is DAPRLLM_DEV_API_KEY when set, otherwise generated, logged once and kept for the admin CLI.
/// In Production it creates nothing, and a development key (variable or stored) stops the app.
/// </summary>
public sealed partial class DevTenantSeeder(
    IServiceProvider services, IHostEnvironment environment, IConfiguration configuration, IOptions<TenantOptions> options, IHostApplicationLifetime lifetime,
    TimeProvider time, ILogger<DevTenantSeeder> logger) : BackgroundService, IHealthCheck
{
    private volatile bool _ready;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!environment.IsDevelopment() && !string.IsNullOrEmpty(configuration[DevTenant.KeyVariable]))
        {
            // Throwing here fails the host's start: only a Development gateway (a local run) has a development key;
            // Staging is as public as Production.
            throw new InvalidOperationException(
                $"{DevTenant.KeyVariable} is set in the {environment.EnvironmentName} environment; refusing to start with a development key outside Development.");
        }

        if (configuration[DevTenant.KeyVariable] is { Length: > 0 } preset && PresetKeyProblem(preset) is { } problem)
        {
            // Seeded as it is, such a key would be announced as active and then refused by authentication.
            throw new InvalidOperationException($"{DevTenant.KeyVariable} {problem}; choose another key (for example sk-dev-<at least 9 more characters>).");
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Why a preset development key could never authenticate (the bounds and trimming of ApiKeyAuthenticator); null when it can.</summary>
    public static string? PresetKeyProblem(string key) =>
        key.Length < ApiKeyAuthenticator.MinKeyLength ? $"is {key.Length} characters; keys have at least {ApiKeyAuthenticator.MinKeyLength}"
        : key.Length > ApiKeyAuthenticator.MaxKeyLength ? $"is {key.Length} characters; keys have at most {ApiKeyAuthenticator.MaxKeyLength}"
        : key.Any(char.IsWhiteSpace) ? "contains white space, which a Bearer header cannot carry"
        : null;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("tenants not initialised yet"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var scope = services.CreateScope();
        var dapr = scope.ServiceProvider.GetRequiredService<DaprClient>();
        var store = scope.ServiceProvider.GetRequiredService<TenantStore>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await dapr.WaitForSidecarAsync(stoppingToken);
                if (!environment.IsDevelopment())
                {
                    if (await store.HasDevKeyAsync(stoppingToken))
                    {
                        LogDevKeyInProduction(logger);
                        // A refusal is a failed start: exit non-zero so an orchestrator reports it and does not count a clean stop.
                        Environment.ExitCode = 1;
                        lifetime.StopApplication();
                        return;
                    }
                }
                else
                {
                    await SeedAsync(store, stoppingToken);
                }

                _ready = true;
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The sidecar or its state store may still be starting; try again shortly.
                LogRetry(logger, FailureCause.Describe(e));
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    private async Task SeedAsync(TenantStore store, CancellationToken ct)
    {
        var seed = options.Value.Development;
        await store.CreateTenantAsync(new Tenant(DevTenant.TenantId, seed.Tier, seed.HomeRegion, seed.AllowedRegions, [],
            null, seed.StreamingPolicy, time.GetUtcNow()), ct);

        var preset = configuration[DevTenant.KeyVariable];
        if (!string.IsNullOrEmpty(preset))
        {
            var (keyId, _) = ApiKeyFormat.Split(preset);
            switch (await store.GetKeyAsync(keyId, ct))
            {
                case null:
                    await store.CreateKeyAsync(DevTenant.TenantId, DevTenant.KeyName, ct, preset);
                    break;
                case { IsRevoked: true }:
                    // Revoked on purpose (it leaked, say): a restart must not bring it back. The run needs a new value.
                    LogPresetRevoked(logger, keyId, DevTenant.KeyVariable);
                    return;
            }

            await store.SaveDevKeyAsync(preset, ct);
            LogPresetKey(logger, keyId);
            return;
        }

        if (await store.GetDevKeyAsync(ct) is { } existing && await store.GetKeyAsync(ApiKeyFormat.Split(existing).KeyId, ct) is { IsRevoked: false })
        {
            LogExistingKey(logger, ApiKeyFormat.Split(existing).KeyId);
            return;
        }

        var created = await store.CreateKeyAsync(DevTenant.TenantId, DevTenant.KeyName, ct);
        await store.SaveDevKeyAsync(created.Key, ct);

        // Printed once, on purpose: this is how a developer on a fresh machine learns the key.
        LogGeneratedKey(logger, created.Key);
    }

    [LoggerMessage(LogLevel.Warning, "The development key {KeyId} from {Variable} was revoked; it stays revoked. Give the variable a new key for this run")]
    private static partial void LogPresetRevoked(ILogger logger, string keyId, string variable);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A development API key is stored but the environment is not Development; refusing to run with a development key. Point this deployment at a state store that never ran in Development.")]
    private static partial void LogDevKeyInProduction(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant initialisation will be retried ({Error})")]
    private static partial void LogRetry(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Development API key from DAPRLLM_DEV_API_KEY is active (key id {KeyId})")]
    private static partial void LogPresetKey(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Development API key already exists (key id {KeyId}); show it with the admin CLI: GET /admin/dev-key")]
    private static partial void LogExistingKey(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generated development API key (shown once): {ApiKey}")]
    private static partial void LogGeneratedKey(ILogger logger, string apiKey);
}
