using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Generation;

/// <summary>Source-generated JSON for the wire contract: camelCase, unknown request members refused, nulls omitted.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerationRequest))]
[JsonSerializable(typeof(GenerationResult))]
[JsonSerializable(typeof(GenerationStreamEvent))]
[JsonSerializable(typeof(InferenceError))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResult))]
internal sealed partial class InferenceJson : JsonSerializerContext;
