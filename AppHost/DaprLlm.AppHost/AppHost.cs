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
    .WithEnvironment("Audit__ArchiveDirectory", layout.DataDirectory("audit-archive"));
builder.AddProject<Projects.DaprLlm_Gateway>(AppIds.Gateway).WithDaprSidecar(dapr).WithExternalHttpEndpoints();

builder.Build().Run();
