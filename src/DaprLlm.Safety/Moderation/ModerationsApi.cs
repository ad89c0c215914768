using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Contracts.Safety;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Moderation;

/// <summary>
/// OpenAI-shaped <c>POST /v1/moderations</c>: <c>input</c> is a string or an array of strings; each result has
/// flagged, categories, category_scores and category_applied_input_types, plus our extensions (decision,
/// rule_hits, pii, policy_version, review_id). The tenant comes from the optional <c>x-tenant-id</c> header, the
/// caller's request id from the optional <c>x-request-id</c>. Its decisions are published with Stage "api": a client
/// classifying texts, not a guardrail of its own chat traffic.
/// </summary>
public static class ModerationsApi
{
    private const int MaxInputs = 64;
    private const int MaxRequestIdLength = 100;

    /// <summary>The caller's request id (the gateway's), optional: without it each call's checks get fresh ids.</summary>
    public const string RequestIdHeader = "x-request-id";

    // OpenAI's field names (category_scores, ...); the Dapr-facing routes keep the apps' camelCase contracts.
    private static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static WebApplication MapModerationsApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.Moderations, Moderate);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ModerationsResponse>, JsonHttpResult<ErrorBody>>> Moderate(
        HttpRequest request, ModerationService service, SafetyEngine engine, IOptions<ModerationOptions> options, CancellationToken cancellationToken)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "the body must be a JSON object", "invalid_request_error", null);
        }

        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("input", out var input))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "'input' is required (a string or an array of strings)", "invalid_request_error", "input");
        }

        List<string> texts;
        try
        {
            if (input.ValueKind == JsonValueKind.String)
            {
                texts = [input.GetString()!];
            }
            else if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() is > 0 and <= MaxInputs && input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            {
                texts = [.. input.EnumerateArray().Select(e => e.GetString()!)];
            }
            else if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() is > 0 and <= MaxInputs && input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Object))
            {
                // OpenAI's multi-modal form: the parts together are one input with one result.
                if (TextOfParts(input) is not { } text)
                {
                    return ErrorBody.Result(StatusCodes.Status400BadRequest,
                        "only text parts ({\"type\":\"text\",\"text\":\"...\"}) can be moderated here; image inputs are not supported", "invalid_request_error", "input");
                }

                texts = [text];
            }
            else
            {
                return ErrorBody.Result(StatusCodes.Status400BadRequest,
                    $"'input' must be a string, an array of 1-{MaxInputs} strings or an array of text parts", "invalid_request_error", "input");
            }
        }
        catch (InvalidOperationException)
        {
            // GetString throws on an escaped lone surrogate ("\ud83d"): the JSON is well formed but the text is not UTF-16.
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "'input' holds an unpaired surrogate escape (\\uD800-\\uDFFF)", "invalid_request_error", "input");
        }

        if (texts.Any(t => t.Length > options.Value.MaxTextChars))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, $"an input is longer than {options.Value.MaxTextChars} characters", "invalid_request_error", "input");
        }

        var tenant = request.Headers["x-tenant-id"].FirstOrDefault();
        if (!ModerationApi.IsValidTenant(tenant))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "x-tenant-id must be 1-64 letters, digits, '-' or '_'", "invalid_request_error", "x-tenant-id");
        }

        // The caller's request id makes the check ids, so a retried request finds the reviews it already opened.
        var requestId = request.Headers[RequestIdHeader].FirstOrDefault();
        if (requestId is not null && !IsValidRequestId(requestId))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, $"{RequestIdHeader} must be 1-{MaxRequestIdLength} letters, digits, '-' or '_'", "invalid_request_error", RequestIdHeader);
        }

        var id = "modr-" + (requestId ?? Guid.NewGuid().ToString("N"));
        var scored = new List<ScoredCheck>(texts.Count);
        try
        {
            for (var i = 0; i < texts.Count; i++)
            {
                // Each input is its own check: a review opened for one never stands in for another's.
                var checkId = texts.Count == 1 ? id : $"{id}-{i}";
                scored.Add(await service.AssessAsync(checkId, texts[i], ModerationDirection.Input, tenant, ModerationDecidedV1.ApiStage, cancellationToken));
            }
        }
        catch (EmbeddingsUnavailableException)
        {
            // Nothing was opened or published for the inputs scored so far: the client's retry starts clean.
            return ErrorBody.EmbeddingsUnavailable(request.HttpContext.Response);
        }

        // Every input is scored; only now are reviews opened and decisions published (all reviews first). A client that
        // goes away meanwhile no longer stops the batch half recorded.
        var checks = await service.CommitAsync(scored, region: null, CancellationToken.None);
        var results = checks.Select(c => ToResult(c.Verdict, c.Assessment)).ToList();

        var model = $"{engine.Model.Manifest.Name}-{engine.Model.Manifest.Version}";
        return TypedResults.Json(new ModerationsResponse(id, model, results), SnakeCase);
    }

    private static ModerationResult ToResult(ModerationVerdict verdict, SafetyAssessment assessment)
    {
        var categories = assessment.Scores.Keys.ToDictionary(c => c, c => assessment.CategoryDecisions.GetValueOrDefault(c, "allow") != "allow", StringComparer.Ordinal);
        var applied = assessment.Scores.Keys.ToDictionary(c => c, _ => (IReadOnlyList<string>)["text"], StringComparer.Ordinal);
        return new ModerationResult(
            verdict.Decision != ModerationVerdict.Decisions.Allow,
            categories,
            assessment.Scores.ToDictionary(s => s.Key, s => Math.Round(s.Value, 6), StringComparer.Ordinal),
            applied,
            verdict.Decision,
            verdict.RuleHits ?? [],
            verdict.Pii ?? [],
            verdict.PolicyVersion,
            verdict.ReviewId,
            verdict.Reasons);
    }

    private static bool IsValidRequestId(string id) =>
        id.Length is > 0 and <= MaxRequestIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The text parts of a multi-modal input joined by newlines; null when a part is not a text part.</summary>
    private static string? TextOfParts(JsonElement parts)
    {
        var texts = new List<string>();
        foreach (var part in parts.EnumerateArray())
        {
            if (!part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            texts.Add(text.GetString()!);
        }

        return string.Join('\n', texts);
    }
}

/// <summary>The OpenAI moderation response.</summary>
public sealed record ModerationsResponse(string Id, string Model, IReadOnlyList<ModerationResult> Results);

/// <summary>One input's result: OpenAI's fields, then our extensions.</summary>
public sealed record ModerationResult(
    bool Flagged,
    IReadOnlyDictionary<string, bool> Categories,
    IReadOnlyDictionary<string, double> CategoryScores,
    IReadOnlyDictionary<string, IReadOnlyList<string>> CategoryAppliedInputTypes,
    string Decision,
    IReadOnlyList<string> RuleHits,
    IReadOnlyList<PiiSpan> Pii,
    string PolicyVersion,
    string? ReviewId,
    IReadOnlyList<string> Reasons);
