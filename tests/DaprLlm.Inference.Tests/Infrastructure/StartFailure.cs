using DaprLlm.Inference.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>
/// Starts the inference app's own catalog wiring (<see cref="CatalogApi.AddModelCatalog"/>, as Program.cs does) in a plain
/// host with the given settings and returns the validation error the start fails with. A plain host rather than
/// WebApplicationFactory: the factory can race a failing start (its deferred host resolves services from the host the
/// failing entry point has already disposed) and then throws ObjectDisposedException instead of the validation error.
/// </summary>
internal static class StartFailure
{
    public static async Task<OptionsValidationException> OfAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        foreach (var (key, value) in settings)
        {
            builder.Configuration[key] = value;
        }

        builder.AddModelCatalog();
        await using var app = builder.Build();
        return await Assert.ThrowsAnyAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));
    }
}
