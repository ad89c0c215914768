using DaprLlm.Sidecar.Actors;
using DaprLlm.Sidecar.Bindings;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Hosting;
using DaprLlm.Sidecar.Invocation;
using DaprLlm.Sidecar.Metadata;
using DaprLlm.Sidecar.PubSub;
using DaprLlm.Sidecar.Resiliency;
using DaprLlm.Sidecar.Secrets;
using DaprLlm.Sidecar.State;
using DaprLlm.Sidecar.Telemetry;
using DaprLlm.Sidecar.Workflows;

var options = SidecarCommandLine.Parse(args, Console.Error);
if (options is null)
{
    return 2;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.AddSidecarHosting(options)
    .AddTelemetry()
    .AddResiliency()
    .AddState()
    .AddSecrets()
    .AddBindings()
    .AddInvocation()
    .AddPubSub()
    .AddActors()
    .AddWorkflows()
    .AddMetadata();

var app = builder.Build();
try
{
    await app.Services.GetRequiredService<ComponentRegistry>().InitializeAsync(CancellationToken.None);
}
catch (ComponentConfigException e)
{
    Console.Error.WriteLine($"fatal: {e.Message}");
    return 1;
}

app.UseSidecarPipeline()
    .MapSidecarCore()
    .MapState()
    .MapSecrets()
    .MapBindings()
    .MapInvocation()
    .MapPubSub()
    .MapActors()
    .MapWorkflows()
    .MapMetadata()
    .MapResiliency()
    .MapTelemetry();

try
{
    await app.RunAsync();
}
catch (Exception e) when (e is ComponentConfigException || e is AggregateException { InnerExceptions: var inner } && inner.All(x => x is ComponentConfigException))
{
    // A resource checked while the host starts (e.g. Resiliency) was invalid; it has been logged with its file.
    return 1;
}
catch (Microsoft.Extensions.Options.OptionsValidationException e)
{
    // A DaprLlm setting from the environment (e.g. DaprLlm__Reminders__ClaimDuration) is out of range: say which.
    Console.Error.WriteLine($"fatal: {e.Message}");
    return 1;
}
catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    // A port given on the command line (API, gRPC, metrics) is taken: say which, as daprd does, without a stack trace.
    Console.Error.WriteLine($"fatal: {e.Message}");
    return 1;
}

return 0;
