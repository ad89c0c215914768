namespace DaprLlm.Safety.Review.Workflows;

/// <summary>Input of <see cref="ReviewWorkflow"/>: the item (already stored) and how long each queue may take.</summary>
public sealed record ReviewWorkflowInput(string ReviewId, TimeSpan StandardWait, TimeSpan SeniorWait, bool CallWebhook);
