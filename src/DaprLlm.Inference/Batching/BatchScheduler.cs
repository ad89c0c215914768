using System.Diagnostics;
using System.Threading.Channels;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Continuous batching for one model on one owner thread: every decode step runs all active requests as one
/// batch; queued requests are prefilled and join between steps; finished or cancelled requests leave at once.
/// Rows keep their KV history left-padded in shared [B, H, L, hd] tensors; a step's presents become the next
/// step's past unchanged, and the tensors are only rebuilt (trimming padding) when the membership changes.
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
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<BatchRow> _rows = [];
    private OrtValue[]? _past;
    private int _pastLength;
    private volatile int _activeRows;
    private volatile int _kvPositions;

    public BatchScheduler(string modelId, string executionProvider, OnnxDecoder decoder, ModelTokenizer tokenizer, IEnumerable<int> endIds,
        int contextLength, int maxBatch, int queueDepth, InferenceMetrics metrics, ILogger logger)
    {
        ModelId = modelId;
        ExecutionProvider = executionProvider;
        _decoder = decoder;
        _tokenizer = tokenizer;
        _endIds = [.. endIds];
        _contextLength = contextLength;
        _maxBatch = maxBatch;
        _metrics = metrics;
        _logger = logger;
        // Capacity 0 is not allowed by channels; a depth of 0 still admits nothing beyond the running batch.
        _queue = Channel.CreateBounded<GenerationJob>(new BoundedChannelOptions(Math.Max(1, queueDepth))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        metrics.Register(this);
        _thread = new Thread(Run) { IsBackground = true, Name = $"batch-{modelId}" };
        _thread.Start();
    }

    public string ModelId { get; }

    public string ExecutionProvider { get; }

    public double QueueDepth => _queue.Reader.Count;

    public double ActiveRows => _activeRows;

    public double KvOccupancy => (double)_kvPositions / ((double)_maxBatch * _contextLength);

    /// <summary>Queues a request; false when the queue is full (the caller answers 429).</summary>
    public bool TryEnqueue(GenerationJob job)
    {
        if (_queue.Writer.TryWrite(job))
        {
            return true;
        }

        _metrics.Rejected(ModelId);
        return false;
    }

    private void Run()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_rows.Count == 0 && !_queue.Reader.TryPeek(out _))
                {
                    _queue.Reader.WaitToReadAsync(token).AsTask().GetAwaiter().GetResult();
                }

                var changed = Admit();
                changed |= RemoveCancelled();
                if (_rows.Count == 0)
                {
                    ReleasePast();
                    continue;
                }

                if (changed)
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
                foreach (var row in _rows)
                {
                    row.Job.Write(new GenerationEvent.Failed("the model failed while generating"));
                    row.DisposePending();
                }

                _rows.Clear();
                ReleasePast();
            }
        }

        foreach (var row in _rows)
        {
            row.Job.Write(new GenerationEvent.Failed("the inference service is shutting down"));
            row.DisposePending();
        }

        while (_queue.Reader.TryRead(out var queued))
        {
            queued.Write(new GenerationEvent.Failed("the inference service is shutting down"));
        }

        ReleasePast();
    }

    /// <summary>Prefills queued requests into free slots; returns whether any joined.</summary>
    private bool Admit()
    {
        var joined = false;
        while (_rows.Count < _maxBatch && _queue.Reader.TryRead(out var job))
        {
            if (job.CancellationToken.IsCancellationRequested)
            {
                Finish(new BatchRow(job, new TextAccumulator(job.Parameters.Stop)), "cancelled", flush: false);
                continue;
            }

            var row = new BatchRow(job, new TextAccumulator(job.Parameters.Stop));
            var (logits, kv) = _decoder.Prefill(job.PromptIds);
            row.PendingKv = kv;
            row.Length = job.PromptIds.Count;
            if (Accept(row, logits))
            {
                _rows.Add(row);
                joined = true;
            }
            else
            {
                row.DisposePending();
            }
        }

        return joined;
    }

    private bool RemoveCancelled()
    {
        var removed = false;
        for (var i = _rows.Count - 1; i >= 0; i--)
        {
            if (_rows[i].Job.CancellationToken.IsCancellationRequested)
            {
                Finish(_rows[i], "cancelled", flush: false);
                _rows[i].DisposePending();
                _rows.RemoveAt(i);
                removed = true;
            }
        }

        return removed;
    }

    /// <summary>Samples the row's next token; returns false when the row has finished.</summary>
    private bool Accept(BatchRow row, ReadOnlySpan<float> logits)
    {
        var job = row.Job;
        var next = Sampler.Sample(logits, job.Parameters, job.Random);
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
            job.Write(new GenerationEvent.Token(text));
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

    private void Finish(BatchRow row, string reason, bool flush)
    {
        var job = row.Job;
        if (flush)
        {
            var rest = row.Text.Flush();
            if (rest.Length > 0)
            {
                job.Write(new GenerationEvent.Token(rest));
            }
        }

        job.Write(new GenerationEvent.End(reason, job.PromptIds.Count, row.CompletionTokens));
        var now = Stopwatch.GetTimestamp();
        double? ttft = job.FirstTokenAt is { } first ? Stopwatch.GetElapsedTime(job.EnqueuedAt, first).TotalSeconds : null;
        _metrics.RequestFinished(ModelId, ExecutionProvider, Stopwatch.GetElapsedTime(job.EnqueuedAt, now).TotalSeconds, ttft,
            job.PromptIds.Count, row.CompletionTokens, reason);
    }

    /// <summary>Copies every row's KV history into fresh tensors sized to the longest row, left-padded.</summary>
    private void Rebuild()
    {
        var heads = _decoder.Config.KvHeads;
        var hd = _decoder.Config.HeadSize;
        var batch = _rows.Count;
        var length = 0;
        foreach (var row in _rows)
        {
            length = Math.Max(length, row.Length);
        }

        var tensors = new OrtValue[_decoder.Config.Layers * 2];
        for (var t = 0; t < tensors.Length; t++)
        {
            var dst = new float[batch * heads * length * hd];
            for (var i = 0; i < batch; i++)
            {
                var row = _rows[i];
                ReadOnlySpan<float> src;
                int srcRow, srcLength, srcPad;
                if (row.PendingKv is { } pending)
                {
                    src = pending[t].GetTensorDataAsSpan<float>();
                    (srcRow, srcLength, srcPad) = (0, row.Length, 0);
                }
                else
                {
                    src = _past![t].GetTensorDataAsSpan<float>();
                    (srcRow, srcLength, srcPad) = (row.BatchIndex, _pastLength, row.Pad);
                }

                for (var h = 0; h < heads; h++)
                {
                    src.Slice((((srcRow * heads) + h) * srcLength + srcPad) * hd, row.Length * hd)
                        .CopyTo(dst.AsSpan((((i * heads) + h) * length + length - row.Length) * hd));
                }
            }

            tensors[t] = OrtValue.CreateTensorValueFromMemory(dst, [batch, heads, length, hd]);
        }

        ReleasePast();
        for (var i = 0; i < batch; i++)
        {
            var row = _rows[i];
            row.DisposePending();
            row.BatchIndex = i;
            row.Pad = length - row.Length;
        }

        _past = tensors;
        _pastLength = length;
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
        var (logits, present) = _decoder.Step(batch, pastLength, tokens, positions, pads, _past!);
        ReleasePast();
        _past = present;
        _pastLength = pastLength + 1;
        _metrics.Step(ModelId, ExecutionProvider, batch);
        using (logits)
        {
            var all = logits.GetTensorDataAsSpan<float>();
            var vocab = all.Length / batch;
            var kvPositions = 0;
            var finished = false;
            for (var i = 0; i < batch; i++)
            {
                var row = _rows[i];
                row.Length++;
                if (!Accept(row, all.Slice(i * vocab, vocab)))
                {
                    finished = true;
                    row.BatchIndex = -2;
                }
                else
                {
                    kvPositions += row.Length;
                }
            }

            _kvPositions = kvPositions;
            if (finished)
            {
                // Rows that finished leave now; the others keep their batch index until the rebuild.
                _rows.RemoveAll(r => r.BatchIndex == -2);
                if (_rows.Count > 0)
                {
                    Rebuild();
                }
            }
        }

        _activeRows = _rows.Count;
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
        _thread.Join(TimeSpan.FromSeconds(10));
        _stopping.Dispose();
        _decoder.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Decode step of model {Model} failed")]
    private static partial void LogStepFailed(ILogger logger, string model, Exception exception);
}
