using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Continuous batching for one model on two owner threads. The prefill thread takes queued requests as batch
/// slots free up, prefills them (all waiting ones in one ONNX Runtime call) and samples their first token at
/// once, without waiting for the running decode step, so time to first token does not grow with the batch.
/// The decode thread runs every active request as one batch per step; prefilled rows join between steps and
/// finished or cancelled rows leave at once. Rows keep their KV history padded (left, or right for
/// GroupQueryAttention models) in shared [B, H, L, hd]
/// tensors; a step's presents become the next step's past unchanged, and the tensors are only rebuilt
/// (trimming padding) when the membership changes.
/// </summary>
public sealed partial class BatchScheduler : ISchedulerGauges, IDisposable
{
    private readonly OnnxDecoder _decoder;
    private readonly ModelTokenizer _tokenizer;
    private readonly HashSet<int> _endIds;
    private readonly int _maxBatch;
    private readonly int _contextLength;
    private readonly Channel<GenerationJob> _queue;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Thread _decodeThread;
    private readonly Thread _prefillThread;
    private readonly CancellationTokenSource _stopping = new();
    // Batch slots: taken by the prefill thread per admitted request, given back when the request finishes.
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentQueue<PrefillGroup> _joining = new();
    // Held while writing to or draining the queue, so requests enqueued together are admitted together.
    private readonly Lock _admission = new();
    private readonly int _queueDepth;
    private readonly int _queueCapacity;
    // Requests accepted and not yet finished (queued or holding a batch slot): at most _maxBatch + _queueDepth.
    private int _accepted;
    private readonly ManualResetEventSlim _joinSignal = new(false);
    // Reset while a prefill runs: the decode thread does not start a step then (prefill first), so a new request's
    // first token waits at most for the step already running, and the two runs rarely share the cores.
    private readonly ManualResetEventSlim _prefillIdle = new(true);
    private readonly List<BatchRow> _rows = [];
    private readonly List<PrefillGroup> _merging = [];
    private readonly SamplerScratch _decodeScratch = new();
    private float[] _logits = [];
    private OrtValue[]? _past;
    private int _pastLength;
    // Positions allocated per row in _past: _pastLength when each step returns new presents; more (room to grow)
    // when the decoder updates the KV in place (GroupQueryAttention), so steps copy nothing until it is full.
    private int _pastCapacity;
    private volatile int _activeRows;
    private volatile int _kvPositions;
    private volatile bool _lastStepFailed;
    // Stopwatch ticks between two wake-ups of one streamed request's reader (0: once per decode step).
    private readonly long _streamInterval;

    /// <summary>Logits per step: token ids a request may name (logit_bias) are below this.</summary>
    public int Vocabulary => _decoder.Vocabulary;

    public BatchScheduler(string modelId, string executionProvider, OnnxDecoder decoder, ModelTokenizer tokenizer, IEnumerable<int> endIds,
        int contextLength, int maxBatch, int queueDepth, InferenceMetrics metrics, ILogger logger, TimeSpan streamInterval = default,
        TimeSpan stepTimeout = default)
    {
        Watchdog = new StepWatchdog(stepTimeout > TimeSpan.Zero ? stepTimeout : TimeSpan.FromSeconds(30));
        _streamInterval = (long)(streamInterval.TotalSeconds * Stopwatch.Frequency);
        ModelId = modelId;
        ExecutionProvider = executionProvider;
        _decoder = decoder;
        _tokenizer = tokenizer;
        _endIds = [.. endIds];
        _contextLength = contextLength;
        _maxBatch = maxBatch;
        _slots = new SemaphoreSlim(maxBatch, maxBatch);
        _metrics = metrics;
        _logger = logger;
        // Every request passes through the queue, even one that finds a slot free, so a depth of 0 cannot be the channel's
        // capacity (nor would channels allow it): the channel then holds at most a batch, and _accepted keeps requests to
        // the free slots, admitting nothing beyond the running batch.
        _queueDepth = queueDepth;
        _queueCapacity = queueDepth > 0 ? queueDepth : maxBatch;
        _queue = Channel.CreateBounded<GenerationJob>(new BoundedChannelOptions(_queueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        metrics.Register(this);
        _decodeThread = new Thread(DecodeLoop) { IsBackground = true, Name = $"decode-{modelId}" };
        _prefillThread = new Thread(PrefillLoop) { IsBackground = true, Name = $"prefill-{modelId}" };
        _decodeThread.Start();
        _prefillThread.Start();
    }

    public string ModelId { get; }

    /// <summary>
    /// False after a prefill or decode step failed, until one succeeds again, and while a step runs past the step
    /// timeout (the gateway routes to a fallback tier).
    /// </summary>
    public bool Healthy => !_lastStepFailed && Watchdog.Stalled is null;

    /// <summary>When the running ONNX Runtime calls started; says why the model is stalled.</summary>
    public StepWatchdog Watchdog { get; }

    public string ExecutionProvider { get; }

    public double QueueDepth => _queue.Reader.Count;

    public double ActiveRows => _activeRows;

    public double KvOccupancy => (double)_kvPositions / ((double)_maxBatch * _contextLength);

    /// <summary>Queues a request; false when the queue is full (the caller answers 429).</summary>
    public bool TryEnqueue(GenerationJob job)
    {
        lock (_admission)
        {
            if (Volatile.Read(ref _accepted) < _maxBatch + _queueDepth && _queue.Writer.TryWrite(job))
            {
                Interlocked.Increment(ref _accepted);
                return true;
            }
        }

        _metrics.Rejected(ModelId);
        return false;
    }

    /// <summary>
    /// Queues several requests so that they are admitted together (one prefill, one batch), or none of them when
    /// the queue cannot take them all. Without it the prefill thread may wake on the first and start it alone.
    /// </summary>
    public bool TryEnqueueAll(IReadOnlyList<GenerationJob> jobs)
    {
        lock (_admission)
        {
            if (_queue.Reader.Count + jobs.Count <= _queueCapacity && Volatile.Read(ref _accepted) + jobs.Count <= _maxBatch + _queueDepth)
            {
                foreach (var job in jobs)
                {
                    _queue.Writer.TryWrite(job);
                }

                Interlocked.Add(ref _accepted, jobs.Count);

                return true;
            }
        }

        _metrics.Rejected(ModelId);
        return false;
    }

    private void DecodeLoop()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                while (_rows.Count == 0 && _joining.IsEmpty)
                {
                    _joinSignal.Wait(token);
                    _joinSignal.Reset();
                }

                if (!_prefillIdle.IsSet)
                {
                    // Tokens held for a later wake-up must not also wait for the prefill.
                    PublishAll(0);
                }

                _prefillIdle.Wait(token);
                var changed = Merge();
                changed |= RemoveCancelled();
                if (_rows.TrueForAll(r => r.Done))
                {
                    _rows.Clear();
                    ReleaseMerging();
                    ReleasePast();
                    continue;
                }

                // In-place KV tensors that are full (rows riding along past their max_tokens) are rebuilt larger.
                if (changed || (_decoder.UpdatesKvInPlace && _pastLength + 1 > _pastCapacity))
                {
                    Rebuild();
                }

                Step();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException)
            {
                // A failed step fails the requests in it, not the scheduler: the next request starts clean.
                LogStepFailed(_logger, ModelId, e);
                _lastStepFailed = true;
                FailRows(_rows, "the model failed while generating");
                _rows.Clear();
                ReleaseMerging();
                ReleasePast();
            }
        }

        FailRows(_rows, "the inference service is shutting down");
        ReleaseMerging();
        while (_joining.TryDequeue(out var group))
        {
            FailRows(group.Rows, "the inference service is shutting down");
            group.Dispose();
        }

        ReleasePast();
    }

    /// <summary>Takes the prefilled groups into the batch; returns whether any row joined.</summary>
    private bool Merge()
    {
        var joined = false;
        while (_joining.TryDequeue(out var group))
        {
            _merging.Add(group);
            _rows.AddRange(group.Rows);
            joined = true;
        }

        return joined;
    }

    // Prefill KV is freed once Rebuild has copied it into the batch tensors.
    private void ReleaseMerging()
    {
        foreach (var group in _merging)
        {
            group.Dispose();
        }

        _merging.Clear();
        foreach (var row in _rows)
        {
            row.Pending = null;
        }
    }

    /// <summary>Ends rows whose client went away or that ran past their time limit; returns whether any left.</summary>
    private bool RemoveCancelled()
    {
        var removed = false;
        var now = Stopwatch.GetTimestamp();
        for (var i = _rows.Count - 1; i >= 0; i--)
        {
            var row = _rows[i];
            if (row.Done)
            {
                continue;
            }

            if (row.Job.CancellationToken.IsCancellationRequested)
            {
                Finish(row, "cancelled", flush: false);
                removed = true;
            }
            else if (row.Job.TimedOut(now))
            {
                TimeOut(row);
                removed = true;
            }
        }

        return removed;
    }

    /// <summary>Fails a row that ran past its time limit with a 504 and gives its slot back.</summary>
    private void TimeOut(BatchRow row)
    {
        var limit = row.Job.Timeout?.TotalSeconds ?? 0;
        // Tokens already streamed stay delivered; the error event follows them.
        row.Job.Write(new GenerationEvent.Failed(
            $"the generation took longer than the {limit:0.###} s limit (Inference:GenerationTimeoutSeconds) and was stopped", 504, "generation_timeout"));
        row.Done = true;
        ReleaseSlot(row);
        _metrics.RequestFinished(ModelId, ExecutionProvider, Stopwatch.GetElapsedTime(row.Job.EnqueuedAt).TotalSeconds,
            row.Job.FirstTokenAt is { } first ? Stopwatch.GetElapsedTime(row.Job.EnqueuedAt, first).TotalSeconds : null,
            row.Job.PromptIds.Count, row.CompletionTokens, "timeout");
    }

    /// <summary>Samples the row's next token; returns false when the row has finished.</summary>
    private bool Accept(BatchRow row, ReadOnlySpan<float> logits, SamplerScratch scratch)
    {
        var job = row.Job;
        var next = job.Logits is { } adjuster
            ? Sampler.Sample(adjuster.Apply(logits, scratch.Adjusted(logits.Length)), job.Parameters, job.Random, scratch)
            : Sampler.Sample(logits, job.Parameters, job.Random, scratch);
        job.Logits?.Accepted(next);
        job.FirstTokenAt ??= Stopwatch.GetTimestamp();
        if (_endIds.Contains(next))
        {
            Finish(row, "stop", flush: true);
            return false;
        }

        row.CompletionTokens++;
        var (text, stopped) = row.Text.Append(_tokenizer.TokenBytes(next));
        if (text.Length > 0)
        {
            job.Buffer(text);
        }

        if (stopped)
        {
            Finish(row, "stop", flush: false);
            return false;
        }

        // The sampled token still has to be fed; it needs a KV position inside the context.
        if (row.CompletionTokens >= job.Parameters.MaxTokens || row.Length >= _contextLength)
        {
            Finish(row, "length", flush: true);
            return false;
        }

        row.NextToken = next;
        return true;
    }

    /// <summary>Ends a row: its last text, the end event, metrics, and its slot back to the prefill thread.</summary>
    private void Finish(BatchRow row, string reason, bool flush)
    {
        var job = row.Job;
        if (flush)
        {
            var rest = row.Text.Flush();
            if (rest.Length > 0)
            {
                job.Buffer(rest);
            }
        }

        job.Write(new GenerationEvent.End(reason, job.PromptIds.Count, row.CompletionTokens));
        row.Done = true;
        ReleaseSlot(row);
        var now = Stopwatch.GetTimestamp();
        double? ttft = job.FirstTokenAt is { } first ? Stopwatch.GetElapsedTime(job.EnqueuedAt, first).TotalSeconds : null;
        _metrics.RequestFinished(ModelId, ExecutionProvider, Stopwatch.GetElapsedTime(job.EnqueuedAt, now).TotalSeconds, ttft,
            job.PromptIds.Count, row.CompletionTokens, reason);
    }

    private void FailRows(List<BatchRow> rows, string message)
    {
        foreach (var row in rows)
        {
            if (!row.Done)
            {
                row.Job.Write(new GenerationEvent.Failed(message));
                row.Done = true;
                ReleaseSlot(row);
            }
        }
    }

    private void ReleaseSlot(BatchRow row)
    {
        if (!row.SlotReleased)
        {
            row.SlotReleased = true;
            Interlocked.Decrement(ref _accepted);
            _slots.Release();
        }
    }

    /// <summary>Copies every row's KV history into fresh tensors sized to the longest row, left-padded.</summary>
    private void Rebuild()
    {
        _rows.RemoveAll(r => r.Done);
        var heads = _decoder.Config.KvHeads;
        var hd = _decoder.Config.HeadSize;
        var batch = _rows.Count;
        var length = 0;
        foreach (var row in _rows)
        {
            length = Math.Max(length, row.Length);
        }

        var leftPadded = _decoder.Padding == KvPadding.Left;
        var capacity = _decoder.UpdatesKvInPlace ? Capacity(length) : length;
        var tensors = new OrtValue[_decoder.Config.Layers * 2];
        for (var t = 0; t < tensors.Length; t++)
        {
            tensors[t] = _decoder.NewKv(batch, capacity);
            var dst = tensors[t].GetTensorMutableRawData();
            var element = _decoder.KvElementSize;
            for (var i = 0; i < batch; i++)
            {
                var row = _rows[i];
                ReadOnlySpan<byte> src;
                int srcRow, srcLength, srcPad;
                if (row.Pending is { } pending)
                {
                    src = pending.Kv[t].GetTensorDataAsSpan<byte>();
                    (srcRow, srcLength, srcPad) = (row.PendingIndex, pending.Length, pending.Length - row.Length);
                }
                else
                {
                    src = _past![t].GetTensorDataAsSpan<byte>();
                    (srcRow, srcLength, srcPad) = (row.BatchIndex, _pastCapacity, row.Pad);
                }

                // Right-padded rows (GroupQueryAttention) start at position 0 in both tensors.
                var srcStart = leftPadded ? srcPad : 0;
                var dstStart = leftPadded ? length - row.Length : 0;
                for (var h = 0; h < heads; h++)
                {
                    src.Slice((((srcRow * heads) + h) * srcLength + srcStart) * hd * element, row.Length * hd * element)
                        .CopyTo(dst[((((i * heads) + h) * capacity + dstStart) * hd * element)..]);
                }
            }
        }

        ReleasePast();
        ReleaseMerging();
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            row.BatchIndex = i;
            row.Pad = length - row.Length;
        }

        _past = tensors;
        _pastLength = length;
        _pastCapacity = capacity;
    }

    /// <summary>
    /// KV positions to allocate per row for in-place steps: enough for every live row to reach its max_tokens (or
    /// the context), so the batch is rebuilt only when its membership changes, not as it grows.
    /// </summary>
    private int Capacity(int length)
    {
        var need = length + 1;
        foreach (var row in _rows)
        {
            need = Math.Max(need, row.Length + Math.Max(0, row.Job.Parameters.MaxTokens - row.CompletionTokens) + 1);
        }

        return Math.Min(need, Math.Max(_contextLength, length + 1));
    }

    private void Step()
    {
        var batch = _rows.Count;
        Span<long> tokens = batch <= 256 ? stackalloc long[batch] : new long[batch];
        Span<long> positions = batch <= 256 ? stackalloc long[batch] : new long[batch];
        Span<int> pads = batch <= 256 ? stackalloc int[batch] : new int[batch];
        for (var i = 0; i < batch; i++)
        {
            tokens[i] = _rows[i].NextToken;
            positions[i] = _rows[i].Length;
            pads[i] = _rows[i].Pad;
        }

        var pastLength = _pastLength;
        var vocab = _decoder.Vocabulary;
        if (_logits.Length < batch * vocab)
        {
            // Sized once for a full batch plus finished rows riding along; no per-step allocation.
            _logits = new float[Math.Max(batch, _maxBatch * 2) * vocab];
        }

        Watchdog.BeginDecode();
        try
        {
            if (_decoder.UpdatesKvInPlace)
            {
                _decoder.StepInPlace(batch, pastLength, tokens, positions, pads, _past!, _logits);
            }
            else
            {
                var present = _decoder.Step(batch, pastLength, tokens, positions, pads, _past!, _logits);
                ReleasePast();
                _past = present;
                _pastCapacity = pastLength + 1;
            }
        }
        finally
        {
            Watchdog.EndDecode();
        }

        var logits = _logits.AsSpan(0, batch * vocab);
        _pastLength = pastLength + 1;
        _lastStepFailed = false;
        var kvPositions = 0;
        var live = 0;
        var produced = 0;
        var compact = false;
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            row.Length++;
            if (row.Done)
            {
                // A finished row stays as a masked passenger until the next compaction: dropping it at
                // once would copy every other row's KV, which costs more than carrying it a few steps.
                compact |= row.Length >= _contextLength;
                continue;
            }

            produced++;
            if (Accept(row, logits.Slice(i * vocab, vocab), _decodeScratch))
            {
                kvPositions += row.Length;
                live++;
            }
        }

        // After the whole step, not per row: readers wake while the next step runs, not between this step's rows.
        PublishAll(_streamInterval);
        _kvPositions = kvPositions;
        _metrics.Step(ModelId, ExecutionProvider, batch, produced);
        if (live == 0)
        {
            _rows.Clear();
            ReleasePast();
        }
        else if (compact || (batch - live) * 2 > batch)
        {
            Rebuild();
        }

        _activeRows = live;
    }

    private void PublishAll(long interval)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var row in _rows)
        {
            row.Job.Publish(now, interval);
        }
    }

    private void ReleasePast()
    {
        if (_past is { } past)
        {
            foreach (var v in past)
            {
                v.Dispose();
            }

            _past = null;
            _pastLength = 0;
            _pastCapacity = 0;
        }

        if (_rows.Count == 0)
        {
            _kvPositions = 0;
            _activeRows = 0;
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _prefillThread.Join(TimeSpan.FromSeconds(10));
        _decodeThread.Join(TimeSpan.FromSeconds(10));
        // A group prefilled while the decode thread was stopping still gets its end event and frees its KV.
        while (_joining.TryDequeue(out var group))
        {
            FailRows(group.Rows, "the inference service is shutting down");
            group.Dispose();
        }

        _stopping.Dispose();
        _joinSignal.Dispose();
        _prefillIdle.Dispose();
        _slots.Dispose();
        _decoder.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Decode step of model {Model} failed")]
    private static partial void LogStepFailed(ILogger logger, string model, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Prefill of model {Model} failed")]
    private static partial void LogPrefillFailed(ILogger logger, string model, Exception exception);
}
