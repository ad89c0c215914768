using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Review;

/// <summary>
/// GET /{version}/reviews/{id}: a human review's status, for the tenant whose request it holds. Another tenant's
/// review answers 404 like an unknown id, and the reviewer's name and labels stay inside (reviewers are not exposed to
/// API clients); the fields match the review.decided webhook.
/// </summary>
public static class ReviewStatusApi
{
    /// <summary>What a client sees.</summary>
    public sealed record ReviewView(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("object")] string Object,
        [property: JsonPropertyName("request_id")] string? RequestId,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("decision")] string? Decision,
        [property: JsonPropertyName("decided_at")] DateTimeOffset? DecidedAt);

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapReviewStatus(this RouteGroupBuilder api)
    {
        api.MapGet("/reviews/{id}", GetReview);
        return api;
    }

    private static async Task<IResult> GetReview(string id, HttpContext context, SafetyClient safety, ILoggerFactory loggers)
    {
        if (id.Length > 128 || id.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_'))
        {
            return OpenAiError.InvalidRequest("invalid review id", "id");
        }

        try
        {
            using var response = await safety.Http.GetAsync(SafetyClient.ReviewsPrefix + id, context.RequestAborted);
            var status = (int)response.StatusCode;
            if (status == StatusCodes.Status404NotFound && response.Content.Headers.ContentType?.MediaType == "application/json")
            {
                return NotFound(id);
            }

            if (status != StatusCodes.Status200OK || response.Content.Headers.ContentType?.MediaType != "application/json")
            {
                throw new UpstreamException(AppIds.Safety, status, "safety answered a review status with an error or non-JSON",
                    body: await response.Content.ReadAsStringAsync(context.RequestAborted));
            }

            var review = await response.Content.ReadFromJsonAsync<ReviewStatus>(Web, context.RequestAborted)
                ?? throw new UpstreamException(AppIds.Safety, status, "safety answered an empty review status");
            return review.TenantId == context.GetCaller().TenantId
                ? TypedResults.Ok(new ReviewView(review.Id, "review", review.RequestId, review.Status, review.Decision, review.DecidedAt))
                : NotFound(id);
        }
        catch (Exception e) when (e is UpstreamException or HttpRequestException or JsonException)
        {
            return UpstreamErrors.ToResult(e as UpstreamException ?? new UpstreamException(AppIds.Safety, null, "safety unreachable or unreadable", e), context,
                loggers.CreateLogger(typeof(ReviewStatusApi)));
        }
    }

    private static IResult NotFound(string id) =>
        OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "not_found", $"review '{id}' was not found", "id");
}
