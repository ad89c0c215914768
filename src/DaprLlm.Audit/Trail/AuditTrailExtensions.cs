using DaprLlm.Audit.Alerts;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Retention;
using Microsoft.Extensions.Options;

namespace DaprLlm.Audit.Trail;

/// <summary>Wiring of the trail: options, per-region writers, key loading, retention, subject services and alerts.</summary>
public static class AuditTrailExtensions
{
    public static WebApplicationBuilder AddAuditTrail(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>()
            .BindConfiguration(AuditOptions.Section)
            .PostConfigure(o => o.ApplyDefaults())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new AuditRuntime(sp.GetRequiredService<IOptions<AuditOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IAuditKeySource, DaprAuditKeySource>();
        builder.Services.AddHostedService<AuditRuntimeHost>();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AuditOptions>>().Value;
            // Configuration picks the archive: a folder locally, a blob container behind a Dapr output binding in production.
            IArchiveUploader? uploader = string.IsNullOrWhiteSpace(options.ArchiveBinding) ? null : new BindingArchiveUploader(sp.GetRequiredService<Dapr.Client.DaprClient>(), options.ArchiveBinding);
            return new RetentionJob(options, sp.GetRequiredService<TimeProvider>(), uploader);
        });
        builder.Services.AddHostedService<RetentionHost>();
        builder.Services.AddSingleton(sp => new Reports.HourlyReportJob(sp.GetRequiredService<IOptions<AuditOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<Reports.HourlyReportHost>();
        builder.Services.AddSingleton<SubjectService>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<AuditOptions>>().Value.Alerts);
        builder.Services.AddSingleton<AlertService>();
        builder.Services.AddSingleton<AlertHistoryStore>();
        builder.Services.AddHostedService<AlertHost>();
        return builder;
    }
}
