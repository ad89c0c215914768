using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Sidecar.Actors;

/// <summary>Reminder firing settings (configuration section "DaprLlm:Reminders", e.g. DaprLlm__Reminders__ClaimDuration), validated at start.</summary>
public sealed class ActorReminderOptions
{
    public const string Section = "DaprLlm:Reminders";

    /// <summary>
    /// How long a host's claim on a firing lasts unless renewed. The host renews it while the app's callback runs, so this
    /// is not a limit on the callback: it is how long a firing waits to be fired again after its host died.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.300", "01:00:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromSeconds(15);
}
