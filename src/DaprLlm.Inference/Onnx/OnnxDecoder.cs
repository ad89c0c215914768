using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DaprLlm.Inference.Onnx;

/// <summary>
/// Runs a llama-layout decoder (ORT GenAI's input/output names) over plain ONNX Runtime: a prefill for prompts
/// and a decode step for a batch whose rows carry their own KV history. Rows are left-padded to the longest
/// history and pads are masked, so a row's output does not depend on its batch mates. The KV cache may be
/// float32 or float16 (ORT GenAI's fp16 exports), with fewer KV heads than attention heads (GQA): the KV is
/// only ever copied as raw elements, and logits of either type are read as float.
/// Models exported by onnxruntime-genai's builder attend through the com.microsoft GroupQueryAttention op, which
/// derives each row's length from the attention mask (seqlens_k) and reads its KV from position 0: for those the
/// rows are right-padded instead (<see cref="KvPadding.Right"/>), with the same masking, so the scheduler only
/// changes where a row's history sits in the tensors.
/// Thread use: one thread may prefill while another steps (ONNX Runtime sessions allow concurrent runs); each
/// method is used by one thread at a time.
/// </summary>
public sealed class OnnxDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly GenAiConfig _config;
    private readonly bool _hasPositionIds;
    private readonly string[] _outputNames;
    private readonly string[] _inputNames;
    private readonly TensorElementType _kvType;
    private readonly TensorElementType _logitsType;
    // Reused by Step (one decode thread) so a step allocates no managed arrays.
    private readonly RunOptions _stepOptions = new();
    private readonly OrtValue[] _stepInputs;
    private long[] _stepMask = [];
    private readonly InPlaceStep _mainStep;
    private InPlaceStep? _helperStep;
    private StepHelper? _helper;
    private int _splitStepRows;

    public OnnxDecoder(InferenceSession session, GenAiConfig config, KvPadding padding = KvPadding.Left)
    {
        _session = session;
        _config = config;
        Padding = padding;
        _hasPositionIds = session.InputMetadata.ContainsKey(config.PositionIds);
        foreach (var name in new[] { config.InputIds, config.AttentionMask, config.PastKey(0) })
        {
            if (!session.InputMetadata.ContainsKey(name))
            {
                throw new ModelLoadException($"the model has no input '{name}' that genai_config.json names");
            }
        }

        if (!session.OutputMetadata.ContainsKey(config.Logits))
        {
            throw new ModelLoadException($"the model has no output '{config.Logits}' that genai_config.json names");
        }

        _kvType = session.InputMetadata[config.PastKey(0)].ElementDataType;
        _logitsType = session.OutputMetadata[config.Logits].ElementDataType;
        if (_kvType is not (TensorElementType.Float or TensorElementType.Float16) ||
            _logitsType is not (TensorElementType.Float or TensorElementType.Float16))
        {
            throw new ModelLoadException($"KV cache {_kvType} / logits {_logitsType}: this decode loop supports float32 and float16");
        }

        // The KV layout comes from genai_config.json; a mismatch (e.g. a GQA model whose config omits
        // num_key_value_heads) would otherwise fail at the first step with an opaque shape error.
        var kvShape = session.InputMetadata[config.PastKey(0)].Dimensions;
        if (kvShape.Length != 4 || (kvShape[1] > 0 && kvShape[1] != config.KvHeads) || (kvShape[3] > 0 && kvShape[3] != config.HeadSize))
        {
            throw new ModelLoadException(
                $"'{config.PastKey(0)}' has shape [{string.Join(", ", kvShape)}], but genai_config.json says {config.KvHeads} KV heads of size {config.HeadSize}");
        }

        var logitsShape = session.OutputMetadata[config.Logits].Dimensions;
        Vocabulary = logitsShape.Length == 3 && logitsShape[2] > 0 ? logitsShape[2] : config.VocabSize;
        var pastNames = new string[config.Layers * 2];
        _outputNames = new string[1 + config.Layers * 2];
        _outputNames[0] = config.Logits;
        for (var l = 0; l < config.Layers; l++)
        {
            pastNames[2 * l] = config.PastKey(l);
            pastNames[2 * l + 1] = config.PastValue(l);
            _outputNames[1 + 2 * l] = config.PresentKey(l);
            _outputNames[2 + 2 * l] = config.PresentValue(l);
        }

        _inputNames = [config.InputIds, config.AttentionMask, .. _hasPositionIds ? [config.PositionIds] : Array.Empty<string>(), .. pastNames];
        _stepInputs = new OrtValue[_inputNames.Length];
        _mainStep = new InPlaceStep(_inputNames.Length, _outputNames.Length);
    }

    public GenAiConfig Config => _config;

    /// <summary>Where a row's padding sits in the KV tensors: before its history (plain attention) or after it (GroupQueryAttention).</summary>
    public KvPadding Padding { get; }

    /// <summary>
    /// Opens the folder's decoder on the first execution provider that works, with the KV padding its attention
    /// needs (right padding when the graph uses GroupQueryAttention).
    /// </summary>
    public static (OnnxDecoder Decoder, string ExecutionProvider) Open(string folder, GenAiConfig config, IReadOnlyList<string> providers,
        int intraOpThreads, ILogger logger, bool allowSpinning = true)
    {
        var path = Path.Combine(folder, config.ModelFile);
        var (session, provider) = SessionFactory.Create(path, providers, intraOpThreads, logger, allowSpinning);
        try
        {
            var padding = OnnxGraph.UsesOperator(path, "GroupQueryAttention") ? KvPadding.Right : KvPadding.Left;
            return (new OnnxDecoder(session, config, padding), provider);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Logits per row (the model's output width; genai_config.json's vocab_size when the model leaves it dynamic).</summary>
    public int Vocabulary { get; }

    /// <summary>Bytes per KV element: 4 (float32) or 2 (float16).</summary>
    public int KvElementSize => _kvType == TensorElementType.Float16 ? 2 : 4;

    /// <summary>The KV cache's element type.</summary>
    public TensorElementType KvElementType => _kvType;

    /// <summary>Floats in one row's KV for one layer and one position: KV heads × head size.</summary>
    public int KvRowWidth => _config.KvHeads * _config.HeadSize;

    /// <summary>A KV tensor [batch, KV heads, length, head size], zeroed where masked pads are read (not for GroupQueryAttention).</summary>
    public OrtValue NewKv(int batch, int length)
    {
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, _kvType, [batch, _config.KvHeads, length, _config.HeadSize]);
        // GroupQueryAttention reads a row only up to its length, so its padding is never read and need not be cleared.
        if (!UpdatesKvInPlace)
        {
            value.GetTensorMutableRawData().Clear();
        }

        return value;
    }

    /// <summary>Runs a whole prompt for one new row; returns last-position logits and the row's KV (presents).</summary>
    public (float[] Logits, OrtValue[] Kv) Prefill(IReadOnlyList<int> promptIds) => PrefillBatch([promptIds]);

    /// <summary>
    /// Runs several prompts in one call, padded to the longest (left or right, see <see cref="Padding"/>) and
    /// masked, so their KV comes out in the batch layout ([n, H, longest, hd], row i padded by longest − length).
    /// Returns each row's last-prompt-position logits, concatenated ([n × vocab]), and the presents.
    /// </summary>
    public (float[] Logits, OrtValue[] Kv) PrefillBatch(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        var rows = prompts.Count;
        var longest = 0;
        foreach (var p in prompts)
        {
            longest = Math.Max(longest, p.Count);
        }

        var ids = new long[rows * longest];
        var positions = new long[rows * longest];
        var mask = new long[rows * longest];
        for (var r = 0; r < rows; r++)
        {
            var prompt = prompts[r];
            var pad = Padding == KvPadding.Left ? longest - prompt.Count : 0;
            for (var i = 0; i < prompt.Count; i++)
            {
                ids[r * longest + pad + i] = prompt[i];
                positions[r * longest + pad + i] = i;
                mask[r * longest + pad + i] = 1;
            }
        }

        var inputs = new OrtValue[_inputNames.Length];
        using var runOptions = new RunOptions();
        try
        {
            var n = Fill(inputs, ids, mask, positions, [rows, longest], [rows, longest]);
            for (var i = n; i < inputs.Length; i++)
            {
                long[] empty = [rows, _config.KvHeads, 0, _config.HeadSize];
                inputs[i] = _kvType == TensorElementType.Float16
                    ? OrtValue.CreateTensorValueFromMemory(Array.Empty<Float16>(), empty)
                    : OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), empty);
            }

            // Not disposed as a collection: that would dispose the presents, which the caller owns from here on.
            var results = _session.Run(runOptions, _inputNames, inputs, _outputNames);
            using var logits = results[0];
            var vocab = (int)logits.GetTensorTypeAndShape().Shape[2];
            var last = new float[rows * vocab];
            for (var r = 0; r < rows; r++)
            {
                var end = Padding == KvPadding.Left ? longest : prompts[r].Count;
                ReadLogits(logits, (r * longest + end - 1) * vocab, last.AsSpan(r * vocab, vocab));
            }

            return (last, TakePresents(results));
        }
        finally
        {
            foreach (var v in inputs)
            {
                v?.Dispose();
            }
        }
    }

    /// <summary>
    /// One decode step for <paramref name="batch"/> rows. <paramref name="past"/> holds [B, H, pastLength, hd]
    /// per layer, <paramref name="pads"/> how many positions of each row are padding (leading, or trailing with
    /// <see cref="KvPadding.Right"/>). Writes the logits
    /// ([B × vocab]) into <paramref name="logits"/> and returns the presents (the next step's past).
    /// </summary>
    public OrtValue[] Step(int batch, int pastLength, ReadOnlySpan<long> tokens, ReadOnlySpan<long> positions, ReadOnlySpan<int> pads,
        OrtValue[] past, Span<float> logits)
    {
        var total = pastLength + 1;
        if (_stepMask.Length < batch * total)
        {
            // Grows to the largest batch × context once; later steps reuse it.
            _stepMask = new long[Math.Max(batch * total, _stepMask.Length * 2)];
        }

        var mask = _stepMask.AsSpan(0, batch * total);
        mask.Clear();
        // The new token's position is masked in: after the row's history (left) or right behind it (right).
        var left = Padding == KvPadding.Left;
        for (var b = 0; b < batch; b++)
        {
            mask.Slice(b * total + (left ? pads[b] : 0), total - pads[b]).Fill(1);
        }

        var n = Fill(_stepInputs, tokens.ToArray(), _stepMask, positions.ToArray(), [batch, 1], [batch, total]);
        try
        {
            past.CopyTo(_stepInputs, n);
            var results = _session.Run(_stepOptions, _inputNames, _stepInputs, _outputNames);
            using (var stepLogits = results[0])
            {
                ReadLogits(stepLogits, 0, logits[..(batch * (int)stepLogits.GetTensorTypeAndShape().Shape[2])]);
            }

            return TakePresents(results);
        }
        finally
        {
            for (var i = 0; i < n; i++)
            {
                _stepInputs[i].Dispose();
            }

            Array.Clear(_stepInputs);
        }
    }

    /// <summary>
    /// Whether <see cref="StepInPlace"/> applies: GroupQueryAttention writes a step's new KV position into the past
    /// buffer itself when that buffer is also bound as the present output (ORT GenAI's past_present_share_buffer),
    /// and reads each row only up to its own length, so a step copies no KV history.
    /// </summary>
    public bool UpdatesKvInPlace => Padding == KvPadding.Right;

    /// <summary>
    /// Batches of at least this many rows run each in-place step as two ONNX Runtime calls at once, one per half of
    /// the rows, on the calling thread and a helper thread (0: never). With one intra-op thread a step uses one core;
    /// a batched step has enough rows to keep a second core busy, which a one-row step has not. Rows are independent
    /// in the model (same output in any batch), so a split changes no output (Inference:SplitStepRows).
    /// </summary>
    public int SplitStepRows
    {
        get => _splitStepRows;
        set => _splitStepRows = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "0 (never) or more rows");
    }

    /// <summary>
    /// One decode step whose KV tensors <paramref name="kv"/> ([B, H, capacity, hd] per layer, rows right-padded,
    /// capacity ≥ <paramref name="pastLength"/> + 1) are both the past inputs and the present outputs: each row's
    /// new position is written at its own length, nothing else moves. Only for <see cref="UpdatesKvInPlace"/>.
    /// </summary>
    public void StepInPlace(int batch, int pastLength, ReadOnlySpan<long> tokens, ReadOnlySpan<long> positions, ReadOnlySpan<int> pads,
        OrtValue[] kv, Span<float> logits)
    {
        if (!UpdatesKvInPlace)
        {
            throw new InvalidOperationException("in-place KV steps need a GroupQueryAttention model");
        }

        if (_splitStepRows == 0 || batch < Math.Max(2, _splitStepRows))
        {
            _mainStep.Prepare(this, 0, batch, batch, pastLength, tokens, positions, pads, kv);
            _mainStep.Run(this, logits);
            return;
        }

        // The first half runs on the helper thread while this thread runs the second; each half binds views of its
        // rows of the same KV tensors (the batch is the outermost dimension, so a half is one contiguous block).
        var half = batch / 2;
        _helperStep ??= new InPlaceStep(_inputNames.Length, _outputNames.Length);
        _helper ??= new StepHelper($"step-helper-{Environment.CurrentManagedThreadId}");
        _helperStep.Prepare(this, 0, half, batch, pastLength, tokens, positions, pads, kv);
        _mainStep.Prepare(this, half, batch - half, batch, pastLength, tokens, positions, pads, kv);
        _helper.Start(_helperStep, this);
        Exception? mainError = null;
        try
        {
            _mainStep.Run(this, logits);
        }
        catch (Exception e)
        {
            mainError = e;
        }

        // Always wait for the helper: it still uses the KV tensors and the logits buffer.
        var helperError = _helper.Wait();
        if (mainError is not null || helperError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(mainError ?? helperError!);
        }

        _helperStep.CopyLogits(this, logits);
    }

    /// <summary>The inputs, outputs and buffers of one in-place ONNX Runtime call over a block of rows; reused between steps.</summary>
    private sealed class InPlaceStep(int inputs, int outputs) : IDisposable
    {
        private readonly OrtValue[] _inputs = new OrtValue[inputs];
        private readonly OrtValue[] _outputs = new OrtValue[outputs];
        private readonly RunOptions _options = new();
        private long[] _ids = [];
        private long[] _positions = [];
        private long[] _mask = [];
        private OrtValue? _logits;
        private int _logitsRows;
        private int _fed;
        // Views of this block's rows of the scheduler's KV tensors, kept while the same tensors and block are stepped.
        private OrtValue[]? _views;
        private OrtValue[]? _viewsOf;
        private int _viewStart;
        private int _viewRows;
        private int _start;
        private int _rows;

        public void Prepare(OnnxDecoder d, int start, int rows, int batch, int pastLength, ReadOnlySpan<long> tokens,
            ReadOnlySpan<long> positions, ReadOnlySpan<int> pads, OrtValue[] kv)
        {
            // Inputs left from a call that never ran (a failure between preparing and running) are freed first.
            ReleaseInputs();
            (_start, _rows) = (start, rows);
            var total = pastLength + 1;
            if (_ids.Length < rows)
            {
                _ids = new long[rows];
                _positions = new long[rows];
            }

            if (_mask.Length < rows * total)
            {
                // Grows to the largest block × context once; later steps reuse it.
                _mask = new long[Math.Max(rows * total, _mask.Length * 2)];
            }

            tokens.Slice(start, rows).CopyTo(_ids);
            positions.Slice(start, rows).CopyTo(_positions);
            var mask = _mask.AsSpan(0, rows * total);
            mask.Clear();
            for (var b = 0; b < rows; b++)
            {
                mask.Slice(b * total, total - pads[start + b]).Fill(1);
            }

            if (_logits is null || _logitsRows != rows)
            {
                // Reused while the block size stays the same (between membership changes).
                _logits?.Dispose();
                _logits = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, d._logitsType, [rows, 1, d.Vocabulary]);
                _logitsRows = rows;
            }

            var block = kv;
            if (rows != batch)
            {
                if (!ReferenceEquals(_viewsOf, kv) || _viewStart != start || _viewRows != rows)
                {
                    DisposeViews();
                    _views = new OrtValue[kv.Length];
                    for (var t = 0; t < kv.Length; t++)
                    {
                        _views[t] = d.RowView(kv[t], start, rows);
                    }

                    (_viewsOf, _viewStart, _viewRows) = (kv, start, rows);
                }

                block = _views!;
            }

            _fed = d.Fill(_inputs, _ids, _mask, _positions, [rows, 1], [rows, total]);
            block.CopyTo(_inputs, _fed);
            _outputs[0] = _logits;
            block.CopyTo(_outputs, 1);
        }

        /// <summary>Runs the prepared call; writes this block's logits into its rows of <paramref name="logits"/> when given.</summary>
        public void Run(OnnxDecoder d, Span<float> logits)
        {
            try
            {
                d._session.Run(_options, d._inputNames, _inputs, d._outputNames, _outputs);
            }
            finally
            {
                ReleaseInputs();
            }

            if (!logits.IsEmpty)
            {
                CopyLogits(d, logits);
            }
        }

        private void ReleaseInputs()
        {
            for (var i = 0; i < _fed; i++)
            {
                _inputs[i].Dispose();
            }

            _fed = 0;
            Array.Clear(_inputs);
            Array.Clear(_outputs);
        }

        public void CopyLogits(OnnxDecoder d, Span<float> logits) =>
            d.ReadLogits(_logits!, 0, logits.Slice(_start * d.Vocabulary, _rows * d.Vocabulary));

        private void DisposeViews()
        {
            foreach (var v in _views ?? [])
            {
                v.Dispose();
            }

            (_views, _viewsOf) = (null, null);
        }

        public void Dispose()
        {
            ReleaseInputs();
            DisposeViews();
            _logits?.Dispose();
            _options.Dispose();
        }
    }

    /// <summary>A view of rows [start, start + rows) of a [B, H, L, hd] tensor, sharing its memory.</summary>
    private unsafe OrtValue RowView(OrtValue tensor, int start, int rows)
    {
        var shape = tensor.GetTensorTypeAndShape().Shape;
        var rowBytes = shape[1] * shape[2] * shape[3] * KvElementSize;
        var data = tensor.GetTensorMutableRawData();
        fixed (byte* p = data)
        {
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, _kvType, [rows, shape[1], shape[2], shape[3]],
                (IntPtr)(p + start * rowBytes), rows * rowBytes);
        }
    }

    /// <summary>
    /// The thread that runs the other half of a split step. A dedicated thread, not the thread pool: it must start at
    /// once, every step, without queueing behind request handlers.
    /// </summary>
    private sealed class StepHelper : IDisposable
    {
        private readonly Thread _thread;
        private readonly SemaphoreSlim _go = new(0);
        private readonly ManualResetEventSlim _done = new(false);
        private InPlaceStep? _step;
        private OnnxDecoder? _decoder;
        private Exception? _error;
        private volatile bool _stopping;

        public StepHelper(string name)
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = name };
            _thread.Start();
        }

        public void Start(InPlaceStep step, OnnxDecoder decoder)
        {
            (_step, _decoder, _error) = (step, decoder, null);
            _done.Reset();
            _go.Release();
        }

        public Exception? Wait()
        {
            _done.Wait();
            return _error;
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                if (_stopping)
                {
                    return;
                }

                try
                {
                    // Logits are copied by the caller after both halves, so the helper touches no managed span.
                    _step!.Run(_decoder!, []);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                finally
                {
                    _done.Set();
                }
            }
        }

        public void Dispose()
        {
            _stopping = true;
            _go.Release();
            _thread.Join(TimeSpan.FromSeconds(10));
            _go.Dispose();
            _done.Dispose();
        }
    }

    /// <summary>One decode step that allocates its logits (tests and tools).</summary>
    public (float[] Logits, OrtValue[] Present) Step(int batch, int pastLength, ReadOnlySpan<long> tokens, ReadOnlySpan<long> positions,
        ReadOnlySpan<int> pads, OrtValue[] past)
    {
        var logits = new float[batch * Vocabulary];
        var present = Step(batch, pastLength, tokens, positions, pads, past, logits);
        return (logits, present);
    }

    private int Fill(OrtValue[] inputs, long[] ids, long[] mask, long[] positions, long[] idsShape, long[] maskShape)
    {
        var i = 0;
        inputs[i++] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ids.AsMemory(), idsShape);
        inputs[i++] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, (int)(maskShape[0] * maskShape[1])), maskShape);
        if (_hasPositionIds)
        {
            inputs[i++] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, positions.AsMemory(), idsShape);
        }

        return i;
    }

    private void ReadLogits(OrtValue logits, int offset, Span<float> destination)
    {
        if (_logitsType == TensorElementType.Float)
        {
            logits.GetTensorDataAsSpan<float>().Slice(offset, destination.Length).CopyTo(destination);
            return;
        }

        var half = logits.GetTensorDataAsSpan<Float16>().Slice(offset, destination.Length);
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = half[i].ToFloat();
        }
    }

    private static OrtValue[] TakePresents(IDisposableReadOnlyCollection<OrtValue> results)
    {
        var presents = new OrtValue[results.Count - 1];
        for (var i = 1; i < results.Count; i++)
        {
            presents[i - 1] = results[i];
        }

        return presents;
    }

    public void Dispose()
    {
        _helper?.Dispose();
        _helperStep?.Dispose();
        _mainStep.Dispose();
        _stepOptions.Dispose();
        _session.Dispose();
    }
}
