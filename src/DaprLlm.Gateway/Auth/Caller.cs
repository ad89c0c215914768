using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Auth;

/// <summary>The authenticated caller of a request: its key and tenant.</summary>
public sealed record Caller(ApiKeyRecord Key, Tenant Tenant)
{
    public string KeyId => Key.KeyId;

    public string TenantId => Tenant.Id;

    public string Tier => Tenant.Tier;
}

/// <summary>Access to the caller stored on the HttpContext by <see cref="ApiKeyFilter"/>.</summary>
public static class CallerExtensions
{
    private static readonly object Slot = new();

    public static void SetCaller(this HttpContext context, Caller caller) => context.Items[Slot] = caller;

    public static Caller GetCaller(this HttpContext context) =>
        context.Items[Slot] as Caller ?? throw new InvalidOperationException("endpoint is not behind ApiKeyFilter");
}
