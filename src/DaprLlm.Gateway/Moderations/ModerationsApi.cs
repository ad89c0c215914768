using DaprLlm.Contracts;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Upstream;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Moderations;

/// <summary>
/// POST /{version}/moderations is answered by the safety app (its OpenAI-shaped v1/moderations) under the caller's
/// tenant: the body and status are forwarded as they are.
/// </summary>
public static class ModerationsApi
{
    public static RouteGroupBuilder MapModerations(this RouteGroupBuilder api)
    {
        api.MapPost("/moderations", Moderate).Accepts<System.Text.Json.Nodes.JsonObject>("application/json");
        return api;
    }

    private static async Task<IResult> Moderate(HttpContext context, SafetyClient safety, IOptions<ChatOptions> options, ILoggerFactory loggers)
    {
        var (body, error) = await JsonBody.ReadAsync<System.Text.Json.Nodes.JsonObject>(context.Request, options.Value.MaxRequestBytes);
        if (error is not null)
        {
            return error;
        }

        if (!body!.ContainsKey("input"))
        {
            return OpenAiError.InvalidRequest("you must provide an input parameter", "input", "missing_required_parameter");
        }

        var request = new HttpRequestMessage(HttpMethod.Post, SafetyClient.ModerationsMethod)
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };

        // The caller's tenant picks the safety policy and owns any review the check opens (GET /v1/reviews/{id}).
        request.Headers.Add(SafetyClient.TenantHeader, context.GetCaller().TenantId);
        return await ForwardAsync(context, safety, request, loggers);
    }

    private static async Task<IResult> ForwardAsync(HttpContext context, SafetyClient safety, HttpRequestMessage request, ILoggerFactory loggers)
    {
        try
        {
            using var response = await safety.Http.SendAsync(request, context.RequestAborted);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(context.RequestAborted);

            // Safety's answers are OpenAI-shaped JSON; anything else (a sidecar error page) is not passed on.
            if (status >= 500 || response.Content.Headers.ContentType?.MediaType != "application/json")
            {
                throw new UpstreamException(AppIds.Safety, status, "safety answered a non-JSON or server error", body: text);
            }

            return Results.Content(text, "application/json", System.Text.Encoding.UTF8, status);
        }
        catch (Exception e) when (e is UpstreamException or HttpRequestException)
        {
            return UpstreamErrors.ToResult(e as UpstreamException ?? new UpstreamException(AppIds.Safety, null, "safety unreachable", e), context,
                loggers.CreateLogger(typeof(ModerationsApi)));
        }
        finally
        {
            request.Dispose();
        }
    }
}
