using System.Text.Json;

namespace DaprLlm.Sidecar.Http;

/// <summary>JSON settings of daprd's HTTP API (camelCase names, nulls omitted).</summary>
public static class DaprJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
