using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Generation;

/// <summary>Turns a chat request into generated text with exact token counts.</summary>
public interface ITextGenerator
{
    GenerationResult Generate(GenerationRequest request);
}
