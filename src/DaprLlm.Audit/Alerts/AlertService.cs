using System.Text.Json;
using System.Threading.Channels;
using Dapr.Client;
using DaprLlm.Audit.Reports;
using DaprLlm.Audit.Trail;
using DaprLlm.Contracts;

namespace DaprLlm.Audit.Alerts;

/// <summary>
/// Feeds stored records into the <see cref="AnomalyDetector"/>, folds alerts of one category within the
/// de-duplication window into one incident, keeps the history (with acknowledge) and hands new alerts to the
/// webhook bindings in the background, so ingestion never waits on Slack or PagerDuty.
/// </summary>
public sealed partial class AlertService(AlertOptions options, TimeProvider time, DaprClient dapr, ILogger<AlertService> logger)
{
    private const int MaxHistory = 1000;

    private readonly Lock _gate = new();
    private readonly AnomalyDetector _detector = new(options);
    private readonly List<Alert> _history = [];
    private readonly Channel<Alert> _outbox = Channel.CreateUnbounded<Alert>();
    private long _version;
    private long _savedVersion;

    /// <summary>True once the persisted history was read back; until then nothing is saved (it would overwrite it).</summary>
    public bool Restored { get; private set; }

    /// <summary>Whether the history changed since it was last saved.</summary>
    public bool Dirty => Interlocked.Read(ref _version) != Interlocked.Read(ref _savedVersion);

    public ChannelReader<Alert> Outbox => _outbox.Reader;

    /// <summary>Considers a newly stored record (never a duplicate, so redelivery cannot inflate rates).</summary>
    public void Observe(AuditEntry entry)
    {
        if (!options.Enabled || TriggerCategory(entry) is not { } category)
        {
            return;
        }

        lock (_gate)
        {
            Raise(_detector.Observe(category, entry.TenantId == Ingestion.AuditEntryFactory.UnknownTenant ? null : entry.TenantId, entry.Region, time.GetUtcNow()));
        }
    }

    /// <summary>Closes elapsed buckets (called on a timer so quiet periods still close).</summary>
    public void Tick()
    {
        lock (_gate)
        {
            Raise(_detector.Tick(time.GetUtcNow()));
        }
    }

    public IReadOnlyList<Alert> History()
    {
        lock (_gate)
        {
            return [.. _history];
        }
    }

    /// <summary>Puts the persisted history before what was raised since the start (ids are unique; the stored copy wins).</summary>
    public void Restore(IReadOnlyList<Alert> stored)
    {
        lock (_gate)
        {
            var known = stored.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            var raisedSinceStart = _history.Where(a => !known.Contains(a.Id)).ToList();
            _history.Clear();
            _history.AddRange(stored);
            _history.AddRange(raisedSinceStart);
            Trim();
            Restored = true;
            _version++;
        }
    }

    /// <summary>Saves the history when it changed (and was restored first).</summary>
    public async Task SaveAsync(AlertHistoryStore store, CancellationToken cancellationToken)
    {
        if (!Restored || !Dirty)
        {
            return;
        }

        long version = 0;
        await store.SaveAsync(() =>
        {
            lock (_gate)
            {
                version = _version;
                return [.. _history];
            }
        }, cancellationToken);
        InterlockedMax(ref _savedVersion, version);
    }

    /// <summary>Acknowledges an alert the caller may see (<paramref name="visible"/>); null when there is none.</summary>
    public Alert? Acknowledge(string id, string by, Func<Alert, bool>? visible = null)
    {
        lock (_gate)
        {
            var index = _history.FindIndex(a => a.Id == id);
            if (index < 0 || visible?.Invoke(_history[index]) == false)
            {
                return null;
            }

            _history[index] = _history[index] with { AcknowledgedAt = _history[index].AcknowledgedAt ?? time.GetUtcNow(), AcknowledgedBy = _history[index].AcknowledgedBy ?? by };
            _version++;
            return _history[index];
        }
    }

    /// <summary>Delivers one alert to every configured binding; failures are logged (the alert stays in the history).</summary>
    public async Task DeliverAsync(Alert alert, CancellationToken cancellationToken)
    {
        foreach (var binding in options.Bindings)
        {
            var payload = binding.Format == "pagerduty" ? AlertPayloads.PagerDuty(alert, binding.RoutingKey) : AlertPayloads.Slack(alert);
            try
            {
                await dapr.InvokeBindingAsync(binding.Name, "post", payload, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogDeliveryFailed(logger, alert.Id, binding.Name, e.GetType().Name);
            }
        }
    }

    private void Raise(List<Alert> alerts)
    {
        foreach (var alert in alerts.OrderByDescending(a => a.Severity == Alert.Critical))
        {
            // One incident, one alert: a category already alerted within the window absorbs this one and keeps the
            // peak count. A sliding window sees a spike rise slide by slide, so a warning often turns critical within
            // one incident: the alert escalates in place and is delivered again under the same id (an escalation is news).
            // An always-critical hit is its tenant's incident: another tenant's hit is news, not a repeat.
            var open = _history.FindLastIndex(a => a.Category == alert.Category && alert.RaisedAt - a.RaisedAt < options.Dedup
                && (!alert.IsPerTenantIncident || a.TenantId == alert.TenantId));
            if (open >= 0)
            {
                var current = _history[open];
                var escalates = alert.Severity == Alert.Critical && current.Severity == Alert.Warning;
                // The folded alert's count may come from another region's records: the incident now spans both.
                current = current with
                {
                    Occurrences = current.Occurrences + 1, Count = Math.Max(current.Count, alert.Count), Regions = Alert.MergeRegions(current.Regions, alert.Regions),
                };
                if (escalates)
                {
                    // An acknowledged warning is not an acknowledged critical: the escalation opens the incident again,
                    // or an open-alerts view would hide it.
                    current = current with
                    {
                        Severity = alert.Severity, Key = alert.Key, TenantId = alert.TenantId, Baseline = alert.Baseline, Z = alert.Z, Summary = alert.Summary,
                        AcknowledgedAt = null, AcknowledgedBy = null,
                    };
                }

                _history[open] = current;
                _version++;
                if (escalates)
                {
                    LogRaised(logger, current.Severity, current.Category, current.Count, current.Z);
                    AuditMetrics.Alerts.Add(1, new KeyValuePair<string, object?>("severity", current.Severity), new KeyValuePair<string, object?>("category", current.Category));
                    _outbox.Writer.TryWrite(current);
                }

                continue;
            }

            _history.Add(alert);
            Trim();
            _version++;

            LogRaised(logger, alert.Severity, alert.Category, alert.Count, alert.Z);
            AuditMetrics.Alerts.Add(1, new KeyValuePair<string, object?>("severity", alert.Severity), new KeyValuePair<string, object?>("category", alert.Category));
            _outbox.Writer.TryWrite(alert);
        }
    }

    private void Trim()
    {
        if (_history.Count > MaxHistory)
        {
            _history.RemoveRange(0, _history.Count - MaxHistory);
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>
    /// The safety category a record counts against, or null when it is not a safety trigger. The trigger is the
    /// moderation decision that blocks or sends to review, by the category it names (as reports count it): the
    /// request.completed refusal and the review.created of that same decision carry no category and are the same
    /// incident, so they are not counted again. A classification call through /v1/moderations is no trigger.
    /// </summary>
    private static string? TriggerCategory(AuditEntry entry)
    {
        if (entry.EventType != Topics.ModerationDecided)
        {
            return null;
        }

        using var content = JsonDocument.Parse(entry.Content);
        var root = content.RootElement;
        // A tenant classifying its users' posts through /v1/moderations would otherwise page on-call for every flagged post.
        if (SafetyCategory.IsApiCheck(root))
        {
            return null;
        }

        return SafetyCategory.IsAllow(SafetyCategory.Action(root)) ? null : SafetyCategory.Of(root) ?? SafetyCategory.Uncategorized;
    }

    [LoggerMessage(LogLevel.Warning, "Safety alert {Severity}: {Category}, {Count} triggers, z={Z}")]
    private static partial void LogRaised(ILogger logger, string severity, string category, long count, double? z);

    [LoggerMessage(LogLevel.Error, "Alert {AlertId} could not be delivered to binding {Binding} ({Error})")]
    private static partial void LogDeliveryFailed(ILogger logger, string alertId, string binding, string error);
}
