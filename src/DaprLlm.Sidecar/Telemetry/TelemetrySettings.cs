using System.Globalization;
using System.Text.Json.Nodes;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>Where and how much to export: OTEL_* environment first, then the --config Configuration's tracing section.</summary>
public sealed record TelemetrySettings(string ServiceName, double SamplingRate, Uri? OtlpEndpoint, bool OtlpOverHttp, bool FromEnvironment)
{
    public bool Exports => OtlpEndpoint is not null || FromEnvironment;

    public static TelemetrySettings Read(SidecarOptions options, Func<string, string?> environment)
    {
        var tracing = ReadTracing(options.ConfigPath);
        var serviceName = environment("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : $"{options.AppId}-dapr";
        var fromEnvironment = environment("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 };

        double? rate = null;
        if (Text(tracing, "samplingRate") is { } rateText)
        {
            rate = double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? Math.Clamp(r, 0, 1) : 0;
        }

        Uri? endpoint = null;
        var overHttp = false;
        if (!fromEnvironment && tracing?["otel"] is JsonObject otel && Text(otel, "endpointAddress") is { } address)
        {
            var secure = string.Equals(Text(otel, "isSecure"), "true", StringComparison.OrdinalIgnoreCase);
            overHttp = string.Equals(Text(otel, "protocol"), "http", StringComparison.OrdinalIgnoreCase);
            endpoint = address.Contains("://", StringComparison.Ordinal) ? new Uri(address) : new Uri($"{(secure ? "https" : "http")}://{address}");
        }

        // daprd samples nothing unless asked; an OTLP endpoint given without a rate means "export", so sample all.
        return new TelemetrySettings(serviceName, rate ?? (fromEnvironment || endpoint is not null ? 1 : 0), endpoint, overHttp, fromEnvironment);
    }

    private static JsonObject? ReadTracing(string? configPath)
    {
        if (configPath is null)
        {
            return null;
        }

        try
        {
            return ResourceLoader.LoadFile(configPath).FirstOrDefault(d => d.Kind == "Configuration")?.Spec["tracing"] as JsonObject;
        }
        catch (Exception e) when (e is ComponentConfigException or IOException)
        {
            // The component registry reports a bad --config file at start with its name; nothing to add here.
            return null;
        }
    }

    private static string? Text(JsonObject? node, string key) =>
        node?[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
