using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Policies;

/// <summary>A tenant's policy as kept in the state store: the revision counts updates and names the version.</summary>
public sealed record StoredPolicy(string Tenant, int Revision, SafetyPolicy Policy, DateTimeOffset UpdatedAt);
