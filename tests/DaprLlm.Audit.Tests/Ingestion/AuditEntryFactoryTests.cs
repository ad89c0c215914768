using System.Text.Json;
using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Ingestion;
using DaprLlm.Audit.Privacy;
using DaprLlm.Audit.Tests.Infrastructure;
using DaprLlm.Audit.Trail;
using DaprLlm.Safety.Rules;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>Turning an event into the entry the trail stores.</summary>
public sealed class AuditEntryFactoryTests : IDisposable
{
    private readonly TempFolder _folder = new("daprllm-audit-factory");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Control_characters_in_the_tenant_and_request_ids_are_replaced_so_every_store_can_hold_the_entry()
    {
        var factory = new AuditEntryFactory(new AuditOptions { Regions = ["eu"] }, new ContentMasker(PiiDetector.Default), new Pseudonymizer(Entries.PseudonymKey));
        await using var store = new SqliteAuditStore("eu", Path.Combine(_folder.Path, "eu.db"));
        await store.InitializeAsync(Ct);
        using var document = JsonDocument.Parse("""{"id":"e1","type":"request.completed","source":"gateway","data":{"tenantId":"t\u0000x","requestId":"r\u0001q","region":"eu"}}""");
        Assert.True(CloudEventEnvelope.TryParse(document.RootElement, "request.completed", out var envelope, out _));

        var decision = await factory.BuildAsync(envelope!, _ => store, Ct);

        Assert.Equal("t\uFFFDx", decision.Entry!.TenantId);
        Assert.Equal("r\uFFFDq", decision.Entry.RefId);
    }

    public void Dispose() => _folder.Dispose();
}
