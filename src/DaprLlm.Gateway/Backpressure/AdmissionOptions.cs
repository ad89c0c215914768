using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Backpressure;

/// <summary>Bounded admission per model on each replica (section "Admission"), validated at start.</summary>
public sealed class AdmissionOptions
{
    public const string Section = "Admission";

    /// <summary>Generation requests of one model running at once on this replica.</summary>
    [Range(1, 100_000)]
    public int MaxInFlight { get; set; } = 256;

    /// <summary>Requests of one model waiting for a place; beyond this the gateway sheds at once.</summary>
    [Range(0, 100_000)]
    public int MaxQueued { get; set; } = 512;

    /// <summary>How long a request may wait for a place before it is shed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of freed places per tier when several wait (weighted fair queuing): enterprise, pro, free.</summary>
    [Range(1, 1_000)]
    public int EnterpriseWeight { get; set; } = 6;

    [Range(1, 1_000)]
    public int ProWeight { get; set; } = 3;

    [Range(1, 1_000)]
    public int FreeWeight { get; set; } = 1;
}
