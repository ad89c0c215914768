using DaprLlm.Gateway.Configuration;
using DaprLlm.Gateway.Admin;
using DaprLlm.Gateway.Auth;

namespace DaprLlm.Gateway.Tenants;

/// <summary>Wiring of tenants, API keys, authentication and the development first run.</summary>
public static class TenantsExtensions
{
    public static WebApplicationBuilder AddTenants(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TenantOptions>().BindSection(TenantOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<GatewaySecrets>();
        builder.Services.AddSingleton<TenantStore>();
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<ApiKeyFilter>();
        builder.Services.AddOptions<JwtOptions>().BindSection(JwtOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<JwtAuthenticator>(); // its keys are parsed by JwtOptions.Validate at start
        builder.Services.AddSingleton<AdminKeyFilter>();
        builder.Services.AddSingleton<DevTenantSeeder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DevTenantSeeder>());
        builder.Services.AddHealthChecks().AddCheck<DevTenantSeeder>("tenants");
        builder.Services.AddHostedService<RevocationWatcher>();
        return builder;
    }
}
