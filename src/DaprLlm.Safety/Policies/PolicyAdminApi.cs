using System.Globalization;
using System.Text.Json;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Moderation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// Read and update tenant policies: <c>GET/PUT /admin/policies/{tenant}</c> with <c>Authorization: Bearer &lt;admin key&gt;</c>.
/// </summary>
public static class PolicyAdminApi
{
    public static WebApplicationBuilder AddPolicies(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PolicyStore>();
        builder.Services.AddSingleton<AdminKey>();
        return builder;
    }

    public static WebApplication MapPolicyAdminApi(this WebApplication app)
    {
        var group = app.MapGroup("/admin/policies");
        group.MapGet("/{tenant}", GetPolicy);
        group.MapPut("/{tenant}", PutPolicy);
        return app;
    }

    private static async Task<Results<Ok<PolicyView>, JsonHttpResult<ErrorBody>>> GetPolicy(
        string tenant, HttpRequest request, PolicyStore store, SafetyEngine engine, AdminKey key, CancellationToken cancellationToken)
    {
        if (await Authorize(request, key, cancellationToken) is { } denied)
        {
            return denied;
        }

        if (!ModerationApi.IsValidTenant(tenant))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "tenant must be 1-64 letters, digits, '-' or '_'", "invalid_request_error", "tenant");
        }

        var stored = await store.GetStoredAsync(tenant, cancellationToken);
        return TypedResults.Ok(stored is null
            ? new PolicyView(tenant, "default", 0, engine.DefaultPolicy, null)
            : new PolicyView(tenant, "stored", stored.Revision, store.Effective(stored), stored.UpdatedAt, stored.Overrides));
    }

    private static async Task<Results<Ok<PolicyView>, JsonHttpResult<ErrorBody>>> PutPolicy(
        string tenant, HttpRequest request, PolicyStore store, SafetyEngine engine, AdminKey key, CancellationToken cancellationToken)
    {
        if (await Authorize(request, key, cancellationToken) is { } denied)
        {
            return denied;
        }

        int? expectedRevision = null;
        if (request.Headers.IfMatch.ToString() is { Length: > 0 } ifMatch && ifMatch.Trim() != "*")
        {
            if (!int.TryParse(ifMatch.Trim().Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var revision))
            {
                return ErrorBody.Result(StatusCodes.Status400BadRequest, "If-Match must be the policy's revision as GET returns it, e.g. \"3\"", "invalid_request_error", "If-Match");
            }

            expectedRevision = revision;
        }

        var (body, malformed) = await JsonRequestBody.ReadAsync<JsonDocument>(request, cancellationToken);
        using var document = body;
        if (document is null)
        {
            return malformed ?? ErrorBody.Result(StatusCodes.Status400BadRequest, "a JSON policy body is required", "invalid_request_error", null);
        }

        PolicyUpdate? update;
        try
        {
            if (PolicyBodyCheck.Problem(document.RootElement) is { } problem)
            {
                return ErrorBody.Result(StatusCodes.Status400BadRequest, problem.Message, "invalid_request_error", problem.Param);
            }

            update = document.RootElement.Deserialize<PolicyUpdate>(JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            // The path says where; the exception's own text names .NET types.
            return ErrorBody.Result(StatusCodes.Status400BadRequest, $"the body is not valid JSON for this route (at {e.Path ?? "$"})", "invalid_request_error", null);
        }
        catch (InvalidOperationException)
        {
            // A name or string with an escaped lone surrogate ("\ud83d") is well-formed JSON but cannot be read as text.
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "the body holds an unpaired surrogate escape (\\uD800-\\uDFFF)", "invalid_request_error", null);
        }

        if (update is null)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "a JSON policy body is required", "invalid_request_error", null);
        }

        if (!ModerationApi.IsValidTenant(tenant))
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, "tenant must be 1-64 letters, digits, '-' or '_'", "invalid_request_error", "tenant");
        }

        var unknown = (update.Categories?.Keys ?? []).Where(c => !engine.Model.Categories.Contains(c)).ToList();
        if (unknown.Count > 0)
        {
            return ErrorBody.Result(StatusCodes.Status400BadRequest, $"unknown categories: {string.Join(", ", unknown)}", "invalid_request_error", "categories");
        }

        var problems = store.Apply(tenant, 1, update).Validate();
        if (problems.Count > 0)
        {
            // Each problem starts with the field it is about ("categories.violence: ...", "patterns: ...").
            var param = problems[0].Split([':', '.', ' '], 2)[0];
            return ErrorBody.Result(StatusCodes.Status400BadRequest, string.Join("; ", problems), "invalid_request_error", param);
        }

        var stored = await store.UpdateAsync(tenant, update, cancellationToken, expectedRevision);
        return stored is null
            ? ErrorBody.Result(StatusCodes.Status409Conflict, "the policy was updated concurrently (or is not at the If-Match revision); read it and retry", "conflict", null)
            : TypedResults.Ok(new PolicyView(tenant, "stored", stored.Revision, store.Effective(stored), stored.UpdatedAt, stored.Overrides));
    }

    private static async Task<JsonHttpResult<ErrorBody>?> Authorize(HttpRequest request, AdminKey key, CancellationToken cancellationToken)
    {
        var header = request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
        return await key.IsValidAsync(presented, cancellationToken)
            ? null
            : ErrorBody.Result(StatusCodes.Status401Unauthorized, "a valid admin key is required (Authorization: Bearer <key>)", "authentication_error", null);
    }
}

/// <summary>
/// What the admin API returns: the policy in force and where it comes from; <see cref="Overrides"/> is what the
/// tenant's updates set over the shipped default (null for the default and for a record stored before overrides were kept).
/// </summary>
public sealed record PolicyView(string Tenant, string Source, int Revision, SafetyPolicy Policy, DateTimeOffset? UpdatedAt, PolicyUpdate? Overrides = null);
