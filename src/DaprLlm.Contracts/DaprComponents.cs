namespace DaprLlm.Contracts;

/// <summary>Names of the Dapr components in components/local and components/cloud.</summary>
public static class DaprComponents
{
    /// <summary>Key/value state, also the actor and workflow state store.</summary>
    public const string StateStore = "statestore";

    /// <summary>The event bus between the apps.</summary>
    public const string PubSub = "pubsub";

    /// <summary>Application secrets (API key salts, signing keys).</summary>
    public const string SecretStore = "secretstore";
}
