namespace DaprLlm.Safety.Rules;

/// <summary>A detected PII entity: its type (Presidio's names where Presidio has one) and its span in the original text.</summary>
public readonly record struct PiiEntity(string EntityType, TextSpan Span);
