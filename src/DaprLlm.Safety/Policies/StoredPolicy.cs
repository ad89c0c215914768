using DaprLlm.Safety.Classification.Policies;

namespace DaprLlm.Safety.Policies;

/// <summary>
/// A tenant's policy as kept in the state store: the revision counts updates and names the version.
/// <see cref="Overrides"/> is what the tenant's updates set; the policy in force is the shipped default with those on
/// top (<see cref="PolicyStore.Effective"/>), so categories the tenant never set follow a retrained model's new
/// defaults. <see cref="Policy"/> is that policy as it was when written: what records had before overrides were kept
/// (such a record, with no overrides, stays in force as stored), and what a replica of the previous app version reads
/// during a rolling upgrade.
/// </summary>
public sealed record StoredPolicy(string Tenant, int Revision, SafetyPolicy Policy, DateTimeOffset UpdatedAt, PolicyUpdate? Overrides = null);
