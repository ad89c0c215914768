namespace DaprLlm.Contracts;

/// <summary>Names of the Dapr components in components/local and components/cloud.</summary>
public static class DaprComponents
{
    /// <summary>Key/value state, also the actor and workflow state store.</summary>
    public const string StateStore = "statestore";

    /// <summary>The event bus between the apps.</summary>
    public const string PubSub = "pubsub";

    /// <summary>
    /// The same bus read with one consumer group per sidecar (<c>consumerID: "{uuid}"</c>): every replica of a
    /// subscriber gets every event. Publishers keep publishing on <see cref="PubSub"/>; the topic is the same.
    /// </summary>
    public const string PubSubBroadcast = "pubsub-broadcast";

    /// <summary>Application secrets (API key salts, signing keys).</summary>
    public const string SecretStore = "secretstore";
}
