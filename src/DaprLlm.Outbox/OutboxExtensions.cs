using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DaprLlm.Outbox;

/// <summary>Registers the durable outbox of an app: options (section "Outbox"), the SQLite file, the Dapr sink and the drain.</summary>
public static class OutboxExtensions
{
    /// <summary>
    /// Adds <see cref="DurableOutbox"/> and its <see cref="OutboxDrain"/> for <paramref name="appId"/>, publishing to
    /// <paramref name="pubsubName"/> through the sidecar (Outbox:SidecarProtocol: HTTP bulk publish, or the app's <see cref="DaprClient"/>). <paramref name="defaults"/> sets the app's
    /// own defaults (configuration still wins). The file is opened when the host starts, so a bad path fails the start.
    /// </summary>
    public static IHostApplicationBuilder AddDurableOutbox(this IHostApplicationBuilder builder, string appId, string pubsubName, Action<OutboxOptions>? defaults = null)
    {
        var options = builder.Services.AddOptions<OutboxOptions>();
        if (defaults is not null)
        {
            options.Configure(defaults);
        }

        options.BindConfiguration(OutboxOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.MaxBackoffMs >= o.MinBackoffMs, "Outbox:MaxBackoffMs must be at least Outbox:MinBackoffMs")
            .Validate(o => o.Instance.Length == 0 || IsSafeName(o.Instance), "Outbox:Instance may hold only letters, digits, '-', '_' and '.'")
            .Validate(o => o.SidecarHttpEndpoint.Length == 0 || Uri.TryCreate(o.SidecarHttpEndpoint, UriKind.Absolute, out var u) && u.Scheme is "http" or "https",
                "Outbox:SidecarHttpEndpoint must be empty or an absolute http(s) URL")
            .ValidateOnStart();

        var contentRoot = builder.Environment.ContentRootPath;
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OutboxOptions>>().Value;
            // Wall-clock on purpose (here and in the drain): event times, batch windows and backoffs are transport
            // time, not business time, and must not stall under a test's fake clock.
            return new DurableOutbox(FilePath(o, appId, contentRoot), appId, o, TimeProvider.System, sp.GetRequiredService<ILogger<DurableOutbox>>());
        });
        builder.Services.AddSingleton<IOutboxSink>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OutboxOptions>>().Value;
            var configuration = sp.GetRequiredService<IConfiguration>();
            return o.SidecarProtocol == OutboxSidecarProtocol.Grpc
                ? new DaprOutboxSink(sp.GetRequiredService<DaprClient>(), pubsubName)
                : new DaprHttpOutboxSink(o.SidecarHttpEndpoint is { Length: > 0 } e ? new Uri(e) : DaprHttpOutboxSink.DefaultEndpoint(configuration), pubsubName,
                    DaprHttpOutboxSink.DefaultApiToken(configuration));
        });
        builder.Services.AddSingleton(sp => new OutboxDrain(sp.GetRequiredService<DurableOutbox>(), sp.GetRequiredService<IOutboxSink>(),
            sp.GetRequiredService<IOptions<OutboxOptions>>().Value, TimeProvider.System, sp.GetRequiredService<ILogger<OutboxDrain>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxDrain>());
        return builder;
    }

    /// <summary>
    /// <c>{Directory}/{app id}-{instance}.outbox.db</c>: the folder from <see cref="OutboxOptions.Directory"/>, else
    /// <c>$DAPRLLM_DATA_DIR/outbox</c>, else <c>data/outbox</c> under the content root; the instance from
    /// <see cref="OutboxOptions.Instance"/>, else HOSTNAME (the pod name on Kubernetes), else the machine name.
    /// </summary>
    public static string FilePath(OutboxOptions options, string appId, string contentRoot)
    {
        ArgumentNullException.ThrowIfNull(options);
        var directory = options.Directory is { Length: > 0 } configured ? configured
            : Environment.GetEnvironmentVariable("DAPRLLM_DATA_DIR") is { Length: > 0 } data ? Path.Combine(data, "outbox")
            : Path.Combine(contentRoot, "data", "outbox");
        var instance = options.Instance is { Length: > 0 } named ? named
            : Environment.GetEnvironmentVariable("HOSTNAME") is { Length: > 0 } host && IsSafeName(host) ? host
            : Environment.MachineName;
        return Path.GetFullPath(Path.Combine(directory, $"{appId}-{instance}.outbox.db"));
    }

    private static bool IsSafeName(string name) => name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name is not ("." or "..");
}
