using Dapr.Client;
using Microsoft.Extensions.Options;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Auth;

/// <summary>
/// Makes a revocation (or rotation) done on one replica take effect on every replica within
/// <see cref="TenantOptions.RevocationPoll"/> instead of the key cache's lifetime: each replica reads the short list
/// of recently revoked key ids (one state read per interval, not per request) and drops those keys from its cache.
/// Pub/sub would reach only one replica of the app id (one consumer group), so a poll is the dependable broadcast.
/// </summary>
public sealed partial class RevocationWatcher(
    DaprClient dapr, TenantStore store, ApiKeyAuthenticator auth, IOptions<TenantOptions> options, ILogger<RevocationWatcher> logger)
    : BackgroundService
{
    private readonly HashSet<string> _applied = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The app usually starts before its sidecar: polling earlier would only log refused connections.
        await dapr.WaitForSidecarAsync(stoppingToken);

        // A real-time interval on purpose: it paces state reads, it is not business time (tests may fake that).
        using var timer = new PeriodicTimer(options.Value.RevocationPoll);
        do
        {
            try
            {
                foreach (var keyId in await store.RecentRevocationsAsync(stoppingToken))
                {
                    if (_applied.Add(keyId))
                    {
                        auth.Forget(keyId);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPollFailed(logger, FailureCause.Describe(e));
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading recent key revocations failed ({Error}); retried at the next interval")]
    private static partial void LogPollFailed(ILogger logger, string error);
}
