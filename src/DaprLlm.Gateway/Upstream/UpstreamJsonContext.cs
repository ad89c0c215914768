using System.Text.Json;
using System.Text.Json.Serialization;
using DaprLlm.Contracts.Inference;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Gateway.Upstream;

/// <summary>
/// Source-generated JSON metadata (web defaults, as <see cref="UpstreamCall.Json"/>) for the bodies of the upstream calls
/// every request makes: requests are written by generated code instead of reflection-built converters.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ModerationRequest))]
[JsonSerializable(typeof(SafetyVerdict))]
[JsonSerializable(typeof(GenerateCall))]
[JsonSerializable(typeof(GenerationResult))]
[JsonSerializable(typeof(GenerateStreamEvent))]
[JsonSerializable(typeof(EmbeddingsCall))]
[JsonSerializable(typeof(EmbeddingsAnswer))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;
