using DaprLlm.Contracts;
using DaprLlm.Contracts.Safety;

namespace DaprLlm.Safety.Moderation;

/// <summary>Input and output moderation, called by the gateway through Dapr service invocation.</summary>
public static class ModerationApi
{
    public static WebApplicationBuilder AddModeration(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PlaceholderRuleModerator>();
        return builder;
    }

    public static WebApplication MapModerationApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.ModerateInput, Moderate);
        app.MapPost("/" + ServiceMethods.ModerateOutput, Moderate);
        return app;
    }

    private static IResult Moderate(ModerationRequest request, PlaceholderRuleModerator moderator) =>
        request.Text is null
            ? TypedResults.BadRequest(new { error = "text is required" })
            : TypedResults.Ok(moderator.Check(request.Text));
}
