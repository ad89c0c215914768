using DaprLlm.Audit.Configuration;
using DaprLlm.Audit.Privacy;
using DaprLlm.Safety.Rules;

namespace DaprLlm.Audit.Trail;

/// <summary>
/// Everything the trail needs once its keys are loaded: one <see cref="ChainWriter"/> per region, the checkpoint
/// signer and the privacy transforms. Not ready until started; ingestion answers RETRY until then.
/// </summary>
public sealed class AuditRuntime(AuditOptions options, TimeProvider time) : IAsyncDisposable
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, ChainWriter> _writers = new(StringComparer.Ordinal);
    private int _disposed;

    public AuditOptions Options { get; } = options;

    public TimeProvider Time { get; } = time;

    public bool IsReady => _ready.Task.IsCompletedSuccessfully;

    public CheckpointSigner Signer { get; private set; } = null!;

    public Pseudonymizer Pseudonymizer { get; private set; } = null!;

    public Ingestion.AuditEntryFactory Entries { get; private set; } = null!;

    public IReadOnlyDictionary<string, ChainWriter> Writers => _writers;

    public async Task StartAsync(AuditKeys keys, CancellationToken cancellationToken)
    {
        Signer = new CheckpointSigner(keys.CheckpointKey);
        Pseudonymizer = new Pseudonymizer(keys.PseudonymKey);
        Entries = new Ingestion.AuditEntryFactory(Options, new ContentMasker(PiiDetector.Default), Pseudonymizer);
        try
        {
            foreach (var region in Options.Regions)
            {
                var writer = new ChainWriter(AuditStoreFactory.Create(Options, region), Signer, Time, Options.MaxBatch, Options.CheckpointEvery);
                _writers[region] = writer;
                await writer.StartAsync(cancellationToken);
            }
        }
        catch
        {
            // A failed start is retried from scratch; close what this attempt opened.
            foreach (var writer in _writers.Values)
            {
                await writer.DisposeAsync();
                await writer.Store.DisposeAsync();
            }

            _writers.Clear();
            throw;
        }

        _ready.TrySetResult();
    }

    public ChainWriter? Writer(string region) => IsReady && _writers.TryGetValue(region, out var writer) ? writer : null;

    public IAuditStore? Store(string region) => Writer(region)?.Store;

    public ChainVerifier Verifier() => new(Signer);

    public async ValueTask DisposeAsync()
    {
        // Both the host (on stop) and the container dispose the runtime; the first one does the work.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var writer in _writers.Values)
        {
            try
            {
                await writer.CheckpointNowAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The chain is still intact; the next start signs it.
            }

            await writer.DisposeAsync();
            await writer.Store.DisposeAsync();
        }
    }
}
