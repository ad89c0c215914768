namespace DaprLlm.Safety.Classification;

/// <summary>Which side of the model a text is on: a prompt going in or generated text coming out.</summary>
public enum ModerationDirection
{
    Input,
    Output,
}
