using DaprLlm.AppHost.Dapr;
using DaprLlm.AppHost.Infrastructure;
using DaprLlm.Contracts;

var builder = DistributedApplication.CreateBuilder(args);
var layout = RepoLayout.Find(builder.AppHostDirectory);

var redis = builder.AddRedisServer("redis", layout.DataDirectory("redis"));
var dapr = DaprRuntime.Detect(builder, layout, redis);

// Data residency: two inference replicas labelled by region. The eu one keeps the app id "inference" (what tools and
// other apps call); the gateway routes each tenant only to the replicas of its allowed regions (Routing below).
builder.AddProject<Projects.DaprLlm_Inference>(AppIds.Inference).WithDaprSidecar(dapr).WithEnvironment("Inference__Region", "eu");
builder.AddProject<Projects.DaprLlm_Inference>(AppIds.InferenceUs).WithDaprSidecar(dapr).WithEnvironment("Inference__Region", "us")
    .WithEndpoint("http", endpoint => endpoint.Port = null); // the launch profile's fixed port belongs to the eu replica
// The gateway and safety keep their audit and moderation events in a durable outbox file until the sidecar accepts them.
// Safety embeds in process (Moderation:Embeddings:Source default): on one machine the inference service path costs more
// than the ML layer's budget (bench/RESULTS.md); Moderation__Embeddings__Source=InferenceService switches it.
builder.AddProject<Projects.DaprLlm_Safety>(AppIds.Safety).WithDaprSidecar(dapr).WithEnvironment("Outbox__Directory", layout.DataDirectory("outbox"))
    .WithEnvironment("Review__KeyRing__Directory", layout.DataDirectory("review-keys"));
builder.AddProject<Projects.DaprLlm_Audit>(AppIds.Audit).WithDaprSidecar(dapr)
    .WithEnvironment("Audit__DataDirectory", layout.DataDirectory("audit"))
    .WithEnvironment("Audit__ArchiveDirectory", layout.DataDirectory("audit-archive"))
    .WithEnvironment("Audit__ReportDirectory", layout.DataDirectory("audit-reports"));
var gateway = builder.AddProject<Projects.DaprLlm_Gateway>(AppIds.Gateway).WithDaprSidecar(dapr).WithExternalHttpEndpoints()
    .WithEnvironment("Outbox__Directory", layout.DataDirectory("outbox"))
    .WithEnvironment("Routing__InferenceByRegion__eu", AppIds.Inference)
    .WithEnvironment("Routing__InferenceByRegion__us", AppIds.InferenceUs);

// The gateway seeds a development key on a local first run; a key chosen by the developer (or a test) passes through.
if (Environment.GetEnvironmentVariable("DAPRLLM_DEV_API_KEY") is { Length: > 0 } devKey)
{
    gateway.WithEnvironment("DAPRLLM_DEV_API_KEY", devKey);
}

builder.Build().Run();
