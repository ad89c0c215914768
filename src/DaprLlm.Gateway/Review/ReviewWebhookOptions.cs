using System.ComponentModel.DataAnnotations;

namespace DaprLlm.Gateway.Review;

/// <summary>Client webhooks called when a human review is decided (section "ReviewWebhooks"), validated at start.</summary>
public sealed class ReviewWebhookOptions
{
    public const string Section = "ReviewWebhooks";

    /// <summary>Accept http:// webhook URLs (local development and tests); otherwise only https://.</summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Deliver to loopback, private and other non-public addresses (local development and tests). Off by default: a
    /// tenant's webhook must not reach the gateway's own network.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    [Range(1, 10)]
    public int Attempts { get; set; } = 3;

    /// <summary>Wait before the second attempt; each later wait doubles.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
