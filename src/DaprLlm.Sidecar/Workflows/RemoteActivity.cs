namespace DaprLlm.Sidecar.Workflows;

/// <summary>An activity another app's workflow routed to this app, as kept in the shared store until it completes.</summary>
/// <param name="Token">The completion token (names the owning app, instance, execution and task).</param>
/// <param name="OwnerAppId">The app whose workflow scheduled it.</param>
/// <param name="Request">The ActivityRequest as protobuf bytes.</param>
public sealed record RemoteActivity(string Token, string OwnerAppId, byte[] Request);
