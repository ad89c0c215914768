namespace DaprLlm.Contracts.Inference;

/// <summary>OpenAI-style error body every inference endpoint returns: <c>{"error":{...}}</c>.</summary>
public sealed record InferenceError(InferenceErrorDetail Error);

/// <summary>OpenAI error fields: message, type (invalid_request_error, rate_limit_error, server_error), param, code.</summary>
public sealed record InferenceErrorDetail(string Message, string Type, string? Param, string? Code);
