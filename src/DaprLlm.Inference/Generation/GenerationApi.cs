using DaprLlm.Contracts;
using DaprLlm.Contracts.Inference;

namespace DaprLlm.Inference.Generation;

/// <summary>POST /v1/generate, called by the gateway through Dapr service invocation.</summary>
public static class GenerationApi
{
    public static WebApplicationBuilder AddGeneration(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ITextGenerator, PlaceholderTextGenerator>();
        return builder;
    }

    public static WebApplication MapGenerationApi(this WebApplication app)
    {
        app.MapPost("/" + ServiceMethods.Generate, Generate);
        return app;
    }

    private static IResult Generate(GenerationRequest request, ITextGenerator generator)
    {
        if (request.Messages is not { Count: > 0 } || request.MaxTokens < 1)
        {
            return TypedResults.BadRequest(new { error = "messages must not be empty and max_tokens must be positive" });
        }

        return TypedResults.Ok(generator.Generate(request));
    }
}
