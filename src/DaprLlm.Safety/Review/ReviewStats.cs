namespace DaprLlm.Safety.Review;

/// <summary>
/// Queue and decision figures for the stats page: depth per queue, SLA breaches (open past the deadline, decided
/// late, or defaulted), items closed by a GDPR erasure (not defaults: nobody could review them any more), decisions
/// per reviewer, and how often the model's own suggestion matched the reviewer.
/// </summary>
public sealed record ReviewStats(
    int StandardDepth,
    int SeniorDepth,
    int OpenPastDeadline,
    int DecidedLate,
    int Defaulted,
    int ClosedByErasure,
    IReadOnlyList<(string Reviewer, int Allowed, int Blocked)> DecisionsByReviewer,
    int HumanDecisions,
    int ModelAgreements)
{
    public double? Agreement => HumanDecisions == 0 ? null : (double)ModelAgreements / HumanDecisions;

    public static ReviewStats From(IEnumerable<ReviewItem> open, IEnumerable<ReviewItem> closed, DateTimeOffset now)
    {
        var openList = open.ToList();
        var human = closed.Where(i => i.DecidedBy is not null && i.Decision is not null).ToList();
        var closedList = closed.ToList();
        return new ReviewStats(
            openList.Count(i => i.Queue == ReviewStatuses.StandardQueue),
            openList.Count(i => i.Queue == ReviewStatuses.SeniorQueue),
            openList.Count(i => i.SlaDeadline < now),
            human.Count(i => i.SlaBreached),
            closedList.Count(i => i.Status == ReviewStatuses.Defaulted && !i.ClosedByErasure),
            closedList.Count(i => i.ClosedByErasure),
            human.GroupBy(i => i.DecidedBy!, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Count(i => i.Decision == ReviewStatuses.Allow), g.Count(i => i.Decision == ReviewStatuses.Block)))
                .OrderBy(r => r.Key, StringComparer.Ordinal)
                .ToList(),
            human.Count,
            human.Count(i => i.Decision == i.ModelSuggestion));
    }
}
