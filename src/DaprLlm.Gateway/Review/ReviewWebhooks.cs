using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Review;

/// <summary>
/// The optional client webhook of a request held for human review (header <see cref="Header"/>): remembered in Dapr
/// state under the review id (any replica may receive the decision), POSTed when review.decided arrives, with a few
/// retries owned here (a direct HTTP call, not a sidecar call), then forgotten.
/// </summary>
/// <remarks>
/// Its own HttpClient, not the factory's: the service defaults add a resilience handler to every factory client, which
/// POSTed again inside each attempt and whose circuit breaker let one tenant's broken endpoint stop every tenant's deliveries.
/// </remarks>
public sealed partial class ReviewWebhooks(DaprClient dapr, IOptions<ReviewWebhookOptions> options, TimeProvider time,
    ILogger<ReviewWebhooks> logger) : IDisposable
{
    public const string Header = "X-Review-Webhook";

    // Redirects are not followed (a public URL could send the POST on to an internal one) and every connection is
    // checked where it is dialled (WebhookAddressGuard).
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = WebhookAddressGuard.ConnectCallback(options.Value.AllowPrivateNetworks),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>What is kept per review.</summary>
    public sealed record Registration(string Url, string TenantId, string RequestId);

    /// <summary>The body POSTed to the client.</summary>
    public sealed record Notification(
        [property: JsonPropertyName("object")] string Object,
        [property: JsonPropertyName("review_id")] string ReviewId,
        [property: JsonPropertyName("request_id")] string RequestId,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("decided_at")] DateTimeOffset DecidedAt);

    /// <summary>Reads the header: null when absent; false when present but not an acceptable absolute URL.</summary>
    public bool TryRead(HttpRequest request, out Uri? url)
    {
        url = null;
        var value = request.Headers[Header].ToString();
        if (value.Length == 0)
        {
            return true;
        }

        return value.Length <= 2_048 && Uri.TryCreate(value, UriKind.Absolute, out url)
            && (url.Scheme == Uri.UriSchemeHttps || (options.Value.AllowHttp && url.Scheme == Uri.UriSchemeHttp))
            && !WebhookAddressGuard.IsRefusedLiteral(url, options.Value.AllowPrivateNetworks);
    }

    public Task RememberAsync(string reviewId, Uri url, string tenantId, string requestId, CancellationToken ct) =>
        dapr.SaveStateAsync(DaprComponents.StateStore, StateKey(reviewId), new Registration(url.ToString(), tenantId, requestId), cancellationToken: ct);

    /// <summary>Delivers the decision to the registered webhook, if any; true when delivered or nothing was registered.</summary>
    public async Task<bool> DeliverAsync(ReviewDecidedV1 decided, CancellationToken ct)
    {
        var registration = await dapr.GetStateAsync<Registration?>(DaprComponents.StateStore, StateKey(decided.ReviewId), cancellationToken: ct);
        if (registration is null || registration.TenantId != decided.TenantId)
        {
            return true;
        }

        var body = new Notification("review.decided", decided.ReviewId, registration.RequestId, decided.Status, decided.DecidedAt);
        var delay = options.Value.FirstRetryDelay;
        for (var attempt = 1; attempt <= options.Value.Attempts; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(options.Value.Timeout);
                using var response = await _http.PostAsJsonAsync(registration.Url, body, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    await dapr.DeleteStateAsync(DaprComponents.StateStore, StateKey(decided.ReviewId), cancellationToken: ct);
                    return true;
                }

                LogAttemptFailed(logger, decided.ReviewId, attempt, (int)response.StatusCode);
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                LogAttemptFailed(logger, decided.ReviewId, attempt, 0);
            }

            if (attempt < options.Value.Attempts)
            {
                await Task.Delay(delay, time, ct);
                delay *= 2;
            }
        }

        // Given up: the client can still read the status at GET /v1/reviews/{id}.
        await dapr.DeleteStateAsync(DaprComponents.StateStore, StateKey(decided.ReviewId), cancellationToken: ct);
        return false;
    }

    public void Dispose() => _http.Dispose();

    private static string StateKey(string reviewId) => $"reviewhook:{reviewId}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Review webhook for {ReviewId}: attempt {Attempt} failed (status {Status})")]
    private static partial void LogAttemptFailed(ILogger logger, string reviewId, int attempt, int status);
}
