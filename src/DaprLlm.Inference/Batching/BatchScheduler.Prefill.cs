using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Batching;

/// <summary>The prefill thread: admission into free slots, one batched prefill per burst, first token at once.</summary>
public sealed partial class BatchScheduler
{
    private readonly SamplerScratch _prefillScratch = new();

    private void PrefillLoop()
    {
        var token = _stopping.Token;
        var admitted = new List<BatchRow>();
        try
        {
            while (!token.IsCancellationRequested)
            {
                // A slot first, then a request: a request stays queued (and counted as queue depth) until it can run.
                _slots.Wait(token);
                var hasSlot = true;
                try
                {
                    if (!_queue.Reader.TryPeek(out _))
                    {
                        _queue.Reader.WaitToReadAsync(token).AsTask().GetAwaiter().GetResult();
                    }

                    // Everyone already waiting joins this prefill, as far as slots allow.
                    using var admission = _admission.EnterScope();
                    while (hasSlot && _queue.Reader.TryRead(out var job))
                    {
                        hasSlot = false;
                        var row = new BatchRow(job, new TextAccumulator(job.Parameters.Stop, _tokenizer.DropsLeadingSpace));
                        if (job.CancellationToken.IsCancellationRequested)
                        {
                            Finish(row, "cancelled", flush: false);
                        }
                        else if (job.TimedOut(System.Diagnostics.Stopwatch.GetTimestamp()))
                        {
                            // It waited in the queue past its whole time limit: no prefill for it.
                            TimeOut(row);
                        }
                        else
                        {
                            admitted.Add(row);
                        }

                        hasSlot = _slots.Wait(0);
                    }
                }
                finally
                {
                    if (hasSlot)
                    {
                        _slots.Release();
                    }
                }

                if (admitted.Count > 0)
                {
                    _prefillIdle.Reset();
                    try
                    {
                        Prefill(admitted);
                    }
                    finally
                    {
                        _prefillIdle.Set();
                    }

                    admitted.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }

        FailRows(admitted, "the inference service is shutting down");
        while (_queue.Reader.TryRead(out var queued))
        {
            queued.Write(new GenerationEvent.Failed("the inference service is shutting down"));
        }
    }

    /// <summary>Prefills the admitted rows in as few padded calls as pay (<see cref="PrefillPlan"/>), shortest prompts first.</summary>
    private void Prefill(List<BatchRow> admitted)
    {
        if (admitted.Count == 1)
        {
            PrefillCall(admitted);
            return;
        }

        var lengths = new int[admitted.Count];
        for (var i = 0; i < lengths.Length; i++)
        {
            lengths[i] = admitted[i].Job.PromptIds.Count;
        }

        foreach (var indices in PrefillPlan.Groups(lengths))
        {
            PrefillCall(indices.ConvertAll(i => admitted[i]));
        }
    }

    /// <summary>Prefills the rows in one ONNX Runtime call, samples their first tokens and hands the live ones to the decode thread.</summary>
    private void PrefillCall(List<BatchRow> admitted)
    {
        var prompts = new IReadOnlyList<int>[admitted.Count];
        var longest = 0;
        for (var i = 0; i < admitted.Count; i++)
        {
            prompts[i] = admitted[i].Job.PromptIds;
            longest = Math.Max(longest, prompts[i].Count);
        }

        PrefillGroup group;
        float[] logits;
        try
        {
            Watchdog.BeginPrefill();
            var (l, kv) = _decoder.PrefillBatch(prompts);
            logits = l;
            group = new PrefillGroup(kv, longest);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException)
        {
            LogPrefillFailed(_logger, ModelId, e);
            _lastStepFailed = true;
            FailRows(admitted, "the model failed while generating");
            return;
        }
        finally
        {
            Watchdog.EndPrefill();
        }

        var vocab = logits.Length / admitted.Count;
        for (var i = 0; i < admitted.Count; i++)
        {
            var row = admitted[i];
            row.Length = row.Job.PromptIds.Count;
            if (Accept(row, logits.AsSpan(i * vocab, vocab), _prefillScratch))
            {
                row.Pending = group;
                row.PendingIndex = i;
                group.Rows.Add(row);
            }
        }

        // First tokens go out at once, whatever the stream interval.
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var row in group.Rows)
        {
            row.Job.Publish(now, 0);
        }

        if (group.Rows.Count == 0)
        {
            group.Dispose();
            return;
        }

        _joining.Enqueue(group);
        _joinSignal.Set();
    }
}
