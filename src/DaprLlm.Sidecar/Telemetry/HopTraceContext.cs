using System.Diagnostics;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>
/// W3C trace context for a hop when no span can be recorded (nothing exports): the caller's trace id and sampling
/// decision with a new span id, or a new trace, exactly what the propagation-only Activity carried, without
/// creating an Activity (and an AsyncLocal change) per call. With an exporter the sidecar's spans are used instead.
/// </summary>
public static class HopTraceContext
{
    /// <summary>Set once at start: true when spans go nowhere, so this class propagates the context.</summary>
    public static bool Enabled { get; set; }

    /// <summary>tracing.samplingRate (same rule as the span sampler in <see cref="TelemetryStartup"/>).</summary>
    public static double SamplingRate { get; set; }

    /// <summary>The traceparent (and tracestate) to send on: the caller's trace continued, or a new trace.</summary>
    public static (string TraceParent, string? TraceState) Next(IHeaderDictionary headers)
    {
        ActivityTraceId traceId;
        bool recorded;
        string? traceState = null;
        if (headers.TryGetValue("traceparent", out var traceparent) &&
            ActivityContext.TryParse(traceparent.ToString(), headers["tracestate"].ToString(), isRemote: true, out var parent))
        {
            traceId = parent.TraceId;
            recorded = (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 || ShouldSample(traceId, SamplingRate);
            traceState = string.IsNullOrEmpty(parent.TraceState) ? null : parent.TraceState;
        }
        else
        {
            traceId = ActivityTraceId.CreateRandom();
            recorded = ShouldSample(traceId, SamplingRate);
        }

        return ($"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-{(recorded ? "01" : "00")}", traceState);
    }

    /// <summary>Same rule as OpenTelemetry's TraceIdRatioBasedSampler, so both agree on a trace.</summary>
    public static bool ShouldSample(ActivityTraceId traceId, double samplingRate)
    {
        if (samplingRate >= 1)
        {
            return true;
        }

        if (samplingRate <= 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        long value = 0;
        for (var i = 0; i < 8; i++)
        {
            value = (value << 8) | bytes[i];
        }

        return (value & long.MaxValue) < (long)(samplingRate * long.MaxValue);
    }
}
