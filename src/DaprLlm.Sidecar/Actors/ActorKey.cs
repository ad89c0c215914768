namespace DaprLlm.Sidecar.Actors;

/// <summary>One actor instance: its type and id.</summary>
public readonly record struct ActorKey(string Type, string Id)
{
    public override string ToString() => $"{Type}/{Id}";
}
