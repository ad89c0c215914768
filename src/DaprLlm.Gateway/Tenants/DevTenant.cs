namespace DaprLlm.Gateway.Tenants;

/// <summary>Names of the development tenant created on a local first run.</summary>
public static class DevTenant
{
    public const string TenantId = "dev";
    public const string KeyName = "development";
    public const string KeyVariable = "DAPRLLM_DEV_API_KEY";
}
