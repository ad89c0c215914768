using System.Text.RegularExpressions;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Admin;

/// <summary>/admin: create tenants; create, list, rotate and revoke API keys; show the local development key.</summary>
public static partial class AdminApi
{
    public static WebApplication MapAdminApi(this WebApplication app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>().ExcludeFromDescription();
        // Accepts: a body of another media type is a 415 (routing checks it), as on the OpenAI routes.
        admin.MapPost("/tenants", CreateTenant).Accepts<CreateTenantRequest>("application/json");
        admin.MapGet("/tenants", ListTenants);
        admin.MapGet("/tenants/{id}", GetTenant);
        admin.MapPost("/tenants/{id}/keys", CreateKey).Accepts<CreateKeyRequest>(isOptional: true, "application/json");
        admin.MapGet("/tenants/{id}/keys", ListKeys);
        admin.MapPost("/keys/{keyId}/rotate", RotateKey);
        admin.MapDelete("/keys/{keyId}", RevokeKey);
        admin.MapGet("/dev-key", GetDevKey);
        return app;
    }

    // Admin bodies are small; anything larger is a mistake, refused before it is read whole.
    private const int MaxBodyBytes = 64 * 1024;

    private const int MaxKeyNameLength = 100;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex TenantIdPattern();

    private static async Task<IResult> CreateTenant(HttpContext context, TenantStore store, IOptions<TenantOptions> options, IOptions<ChatOptions> chat,
        AuditPublisher audit, TimeProvider time, CancellationToken ct)
    {
        var (body, error) = await JsonBody.ReadAsync<CreateTenantRequest>(context.Request, MaxBodyBytes);
        if (error is not null)
        {
            return error;
        }

        if ((Unrecognized(body!.Unknown, "") ?? Unrecognized(body.Limits?.Unknown, "limits.")) is { } unknown)
        {
            return unknown;
        }

        if (body.Id is null || !TenantIdPattern().IsMatch(body.Id))
        {
            return OpenAiError.InvalidRequest("id must be 1-63 lowercase letters, digits or '-'", "id");
        }

        var tier = body.Tier ?? Tiers.Free;
        if (!Tiers.All.Contains(tier))
        {
            return OpenAiError.InvalidRequest($"tier must be one of {string.Join(", ", Tiers.All)}", "tier");
        }

        var regions = options.Value.Regions;
        var home = body.HomeRegion ?? regions[0];
        var allowed = body.AllowedRegions is { Length: > 0 } a ? a : [home];
        if (!regions.Contains(home) || allowed.Any(r => !regions.Contains(r)) || !allowed.Contains(home))
        {
            return OpenAiError.InvalidRequest($"regions must be among {string.Join(", ", regions)} and allowedRegions must include homeRegion", "allowedRegions");
        }

        var policy = body.StreamingPolicy ?? Tiers.PolicyWindow;
        if (!Tiers.Policies.Contains(policy))
        {
            return OpenAiError.InvalidRequest($"streamingPolicy must be one of {string.Join(", ", Tiers.Policies)}", "streamingPolicy");
        }

        if (body.Limits?.FirstOutOfRange() is { } limit)
        {
            return OpenAiError.InvalidRequest($"limits.{limit.Name} must be from {limit.Min} to {limit.Max} (leave it out to keep the tier's limit)",
                $"limits.{limit.Name}", "invalid_value");
        }

        // A misspelt model would lock the tenant out of every model while looking like a restriction.
        var served = chat.Value.Models.Concat(chat.Value.EmbeddingModels).ToArray();
        // A null entry ([null]) matches no model either, so it is refused like a misspelt one.
        if (body.AllowedModels is { } models && Array.FindIndex(models, m => m is null || !served.Contains(m, StringComparer.Ordinal)) is >= 0 and var at)
        {
            return OpenAiError.InvalidRequest($"allowedModels[{at}]: {(models[at] is { } name ? $"'{name}'" : "null")} is not a model this gateway serves ({string.Join(", ", served)})", "allowedModels", "invalid_value");
        }

        var tenant = new Tenant(body.Id, tier, home, allowed, body.AllowedModels ?? [], body.Limits?.ToLimits(), policy, time.GetUtcNow());
        if (await store.CreateTenantAsync(tenant, ct))
        {
            Publish(audit, time, AdminActionV1.Actions.TenantCreated, tenant.Id, null, $"tier={tenant.Tier} home={tenant.HomeRegion} allowed={string.Join(',', tenant.AllowedRegions)}");
            return TypedResults.Created($"/admin/tenants/{tenant.Id}", tenant);
        }

        return OpenAiError.Result(StatusCodes.Status409Conflict, "invalid_request_error", "tenant_exists", $"tenant '{body.Id}' already exists", "id");
    }

    private static async Task<IResult> ListTenants(TenantStore store, CancellationToken ct) =>
        TypedResults.Ok(new { data = await store.ListTenantsAsync(ct) });

    private static async Task<IResult> GetTenant(string id, TenantStore store, CancellationToken ct) =>
        await store.GetTenantAsync(id, ct) is { } tenant ? TypedResults.Ok(tenant) : TenantNotFound(id);

    private static async Task<IResult> CreateKey(string id, HttpContext context, TenantStore store, AuditPublisher audit, TimeProvider time, CancellationToken ct)
    {
        // The body is optional: no body names the key "default".
        CreateKeyRequest? body = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            (body, var error) = await JsonBody.ReadAsync<CreateKeyRequest>(context.Request, MaxBodyBytes);
            if (error is not null)
            {
                return error;
            }

            if (Unrecognized(body!.Unknown, "") is { } unknown)
            {
                return unknown;
            }

            if (body.Name is { } name && (name.Length is 0 or > MaxKeyNameLength || name.Any(char.IsControl)))
            {
                return OpenAiError.InvalidRequest($"name must be 1-{MaxKeyNameLength} characters without control characters", "name", "invalid_value");
            }
        }

        if (await store.GetTenantAsync(id, ct) is null)
        {
            return TenantNotFound(id);
        }

        var created = await store.CreateKeyAsync(id, body?.Name ?? "default", ct);
        Publish(audit, time, AdminActionV1.Actions.KeyCreated, id, created.KeyId, null);
        return TypedResults.Created($"/admin/tenants/{id}/keys", created);
    }

    private static async Task<IResult> ListKeys(string id, TenantStore store, CancellationToken ct) =>
        await store.GetTenantAsync(id, ct) is null
            ? TenantNotFound(id)
            : TypedResults.Ok(new { data = (await store.ListKeysAsync(id, ct)).Select(ApiKeyView.From) });

    // Rotation revokes the old key and issues a new one; clients switch to the key in the answer. The revocation is
    // conditional (see TenantStore.RevokeKeyAsync): of two rotations, or a rotation and a revocation, racing on one
    // key only the winner goes on, so no second live replacement (returned to nobody) and no key issued after a revoke.
    private static async Task<IResult> RotateKey(string keyId, TenantStore store, ApiKeyAuthenticator auth, AuditPublisher audit, TimeProvider time, CancellationToken ct)
    {
        if (await store.RevokeKeyAsync(keyId, ct) is not ({ } old, true))
        {
            return KeyNotFound(keyId);
        }

        auth.Forget(keyId);
        var created = await store.CreateKeyAsync(old.TenantId, old.Name, ct);

        // The local development key: GET /admin/dev-key must hand out the replacement, not the revoked key.
        if (old.Development && await store.GetDevKeyAsync(ct) is { } devKey && ApiKeyFormat.Split(devKey).KeyId == keyId)
        {
            await store.SaveDevKeyAsync(created.Key, ct);
        }

        await store.AnnounceRevocationAsync(keyId, ct);
        Publish(audit, time, AdminActionV1.Actions.KeyRotated, old.TenantId, keyId, $"replaced by {created.KeyId}");
        return TypedResults.Ok(created);
    }

    private static async Task<IResult> RevokeKey(string keyId, TenantStore store, ApiKeyAuthenticator auth, AuditPublisher audit, TimeProvider time, CancellationToken ct)
    {
        var revocation = await store.RevokeKeyAsync(keyId, ct);
        auth.Forget(keyId);
        if (revocation is not ({ } revoked, var revokedNow))
        {
            return KeyNotFound(keyId);
        }

        // Revoking an already revoked key answers as before but is not announced or audited a second time.
        if (revokedNow)
        {
            await store.AnnounceRevocationAsync(keyId, ct);
            Publish(audit, time, AdminActionV1.Actions.KeyRevoked, revoked.TenantId, keyId, null);
        }

        return TypedResults.Ok(ApiKeyView.From(revoked));
    }

    private static async Task<IResult> GetDevKey(TenantStore store, IHostEnvironment environment, CancellationToken ct)
    {
        // Only on a local (Development) run: elsewhere the development key must not exist at all.
        if (!environment.IsDevelopment() || await store.GetDevKeyAsync(ct) is not { } key)
        {
            return OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "not_found", "no development key on this deployment");
        }

        return TypedResults.Ok(new { key, keyId = ApiKeyFormat.Split(key).KeyId, tenantId = DevTenant.TenantId });
    }

    private static void Publish(AuditPublisher audit, TimeProvider time, string action, string? tenantId, string? keyId, string? detail) =>
        audit.Enqueue(new AdminActionV1(action, AppIds.Gateway, tenantId, keyId, time.GetUtcNow(), detail));

    private static IResult? Unrecognized(Dictionary<string, System.Text.Json.JsonElement>? unknown, string prefix) =>
        unknown?.Keys.FirstOrDefault() is { } name
            ? OpenAiError.InvalidRequest($"Unrecognized request argument supplied: {prefix}{name}", prefix + name, "unknown_parameter")
            : null;

    private static IResult TenantNotFound(string id) =>
        OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "tenant_not_found", $"tenant '{id}' does not exist");

    private static IResult KeyNotFound(string keyId) =>
        OpenAiError.Result(StatusCodes.Status404NotFound, "invalid_request_error", "key_not_found", $"key '{keyId}' does not exist or is revoked");
}
