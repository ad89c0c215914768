using DaprLlm.Gateway.Chat;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Routing;

/// <summary>
/// Checks Routing:Fallbacks against Chat:Models (smallest tier first) at start: a fallback must be a served model of the
/// same or a lower tier, so an open breaker never sends a tenant to a bigger (costlier) or unknown model.
/// </summary>
public sealed class FallbackValidation(IOptions<ChatOptions> chat) : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var models = chat.Value.Models;
        var failures = new List<string>();
        foreach (var (model, fallback) in options.Fallbacks)
        {
            var from = Array.IndexOf(models, model);
            var to = Array.IndexOf(models, fallback);
            if (from < 0 || to < 0)
            {
                failures.Add($"Routing:Fallbacks:{model} = {fallback}: both must be in Chat:Models");
            }
            else if (to > from || model == fallback)
            {
                failures.Add($"Routing:Fallbacks:{model} = {fallback}: the fallback must be another model of the same or a lower tier (earlier in Chat:Models)");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
