using DaprLlm.AppHost.Dapr;
using DaprLlm.AppHost.Infrastructure;
using DaprLlm.Contracts;

var builder = DistributedApplication.CreateBuilder(args);
var layout = RepoLayout.Find(builder.AppHostDirectory);

var redis = builder.AddRedisServer("redis", layout.DataDirectory("redis"));
var dapr = DaprRuntime.Detect(builder, layout, redis);

builder.AddProject<Projects.DaprLlm_Inference>(AppIds.Inference).WithDaprSidecar(dapr);
builder.AddProject<Projects.DaprLlm_Safety>(AppIds.Safety).WithDaprSidecar(dapr);
builder.AddProject<Projects.DaprLlm_Audit>(AppIds.Audit).WithDaprSidecar(dapr)
    .WithEnvironment("Audit__DataDirectory", layout.DataDirectory("audit"))
    .WithEnvironment("Audit__ArchiveDirectory", layout.DataDirectory("audit-archive"))
    .WithEnvironment("Audit__ReportDirectory", layout.DataDirectory("audit-reports"));
var gateway = builder.AddProject<Projects.DaprLlm_Gateway>(AppIds.Gateway).WithDaprSidecar(dapr).WithExternalHttpEndpoints();

// The gateway seeds a development key on a local first run; a key chosen by the developer (or a test) passes through.
if (Environment.GetEnvironmentVariable("DAPRLLM_DEV_API_KEY") is { Length: > 0 } devKey)
{
    gateway.WithEnvironment("DAPRLLM_DEV_API_KEY", devKey);
}

builder.Build().Run();
