namespace DaprLlm.Safety.Review.Workflows;

/// <summary>
/// The external event a reviewer's action raises (allow, block or escalate). It only wakes the workflow: the
/// decision itself was already written to the item under its ETag, which is what makes a second one impossible.
/// </summary>
public sealed record ReviewDecisionEvent(string Action, string Reviewer);
