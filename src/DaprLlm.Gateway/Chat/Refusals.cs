using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Chat;

/// <summary>What a client sees when safety refuses: a content_filter error, naming the review when one was opened.</summary>
public static class Refusals
{
    public static IResult Input(SafetyVerdict verdict) => verdict.IsReview && verdict.ReviewId is { } id
        ? OpenAiError.Result(StatusCodes.Status400BadRequest, "invalid_request_error", "content_under_review",
            $"The request was held for human review (review id {id}). Check its status at GET /v1/reviews/{id}.")
        : OpenAiError.Result(StatusCodes.Status400BadRequest, "invalid_request_error", "content_filter",
            $"The request was refused by the content policy ({string.Join(", ", verdict.Reasons)}).");

    public static IResult OutputReview(SafetyVerdict verdict) =>
        OpenAiError.Result(StatusCodes.Status400BadRequest, "invalid_request_error", "content_under_review",
            $"The answer was held for human review (review id {verdict.ReviewId}). Check its status at GET /v1/reviews/{verdict.ReviewId}.");

    public static string StreamMessage(SafetyVerdict verdict) => verdict.IsReview && verdict.ReviewId is { } id
        ? $"The answer was held for human review (review id {id}). Check its status at GET /v1/reviews/{id}."
        : "The answer was stopped by the content policy.";
}
