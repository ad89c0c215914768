using DaprLlm.Contracts.Inference;

namespace DaprLlm.Safety.Review;

/// <summary>
/// Evidence of one uncertain moderation verdict. Direction is "input" or "output"; Categories holds the calibrated
/// score per category, RuleHits the names of the rules that fired; Severity is low, medium, high or critical.
/// </summary>
public sealed record ReviewEscalation(
    string TenantId,
    string RequestId,
    string Direction,
    string Text,
    IReadOnlyDictionary<string, double> Categories,
    IReadOnlyList<string> RuleHits,
    string Severity,
    string PolicyVersion,
    IReadOnlyList<ChatMessage> Conversation);
