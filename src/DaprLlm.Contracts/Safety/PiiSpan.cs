namespace DaprLlm.Contracts.Safety;

/// <summary>A PII entity found in moderated text: Presidio-style type name and character range (end exclusive).</summary>
public sealed record PiiSpan(string EntityType, int Start, int End);
