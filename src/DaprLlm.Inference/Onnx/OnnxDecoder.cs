using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DaprLlm.Inference.Onnx;

/// <summary>
/// Runs a llama-layout decoder (ORT GenAI's input/output names) over plain ONNX Runtime: a prefill for one
/// prompt and a decode step for a batch whose rows carry their own KV history. Rows are left-padded to the
/// longest history and pads are masked, so a row's output does not depend on its batch mates.
/// Not thread-safe: one scheduler thread owns it.
/// </summary>
public sealed class OnnxDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly GenAiConfig _config;
    private readonly bool _hasPositionIds;
    private readonly string[] _outputNames;
    private readonly string[] _pastNames;

    public OnnxDecoder(InferenceSession session, GenAiConfig config)
    {
        _session = session;
        _config = config;
        _hasPositionIds = session.InputMetadata.ContainsKey(config.PositionIds);
        foreach (var name in new[] { config.InputIds, config.AttentionMask, config.PastKey(0) })
        {
            if (!session.InputMetadata.ContainsKey(name))
            {
                throw new ModelLoadException($"the model has no input '{name}' that genai_config.json names");
            }
        }

        if (session.InputMetadata[config.PastKey(0)].ElementDataType != TensorElementType.Float)
        {
            throw new ModelLoadException("only float32 KV caches are supported by this decode loop");
        }

        _pastNames = new string[config.Layers * 2];
        _outputNames = new string[1 + config.Layers * 2];
        _outputNames[0] = config.Logits;
        for (var l = 0; l < config.Layers; l++)
        {
            _pastNames[2 * l] = config.PastKey(l);
            _pastNames[2 * l + 1] = config.PastValue(l);
            _outputNames[1 + 2 * l] = config.PresentKey(l);
            _outputNames[2 + 2 * l] = config.PresentValue(l);
        }
    }

    public GenAiConfig Config => _config;

    /// <summary>Floats in one row's KV for one layer and one position: heads × head size.</summary>
    public int KvRowWidth => _config.KvHeads * _config.HeadSize;

    /// <summary>Runs a whole prompt for one new row; returns last-position logits and the row's KV (presents).</summary>
    public (float[] Logits, OrtValue[] Kv) Prefill(IReadOnlyList<int> promptIds)
    {
        var n = promptIds.Count;
        var ids = new long[n];
        var positions = new long[n];
        var mask = new long[n];
        for (var i = 0; i < n; i++)
        {
            ids[i] = promptIds[i];
            positions[i] = i;
            mask[i] = 1;
        }

        var emptyPast = new OrtValue[_config.Layers * 2];
        for (var i = 0; i < emptyPast.Length; i++)
        {
            emptyPast[i] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, _config.KvHeads, 0, _config.HeadSize]);
        }

        var outputs = Run(1, n, ids, positions, mask, emptyPast);
        foreach (var v in emptyPast)
        {
            v.Dispose();
        }

        using var logits = outputs[0];
        var vocab = (int)logits.GetTensorTypeAndShape().Shape[2];
        var last = logits.GetTensorDataAsSpan<float>().Slice((n - 1) * vocab, vocab).ToArray();
        return (last, outputs[1..]);
    }

    /// <summary>
    /// One decode step for <paramref name="batch"/> rows. <paramref name="past"/> holds [B, H, pastLength, hd]
    /// per layer, <paramref name="pads"/> how many leading positions of each row are padding.
    /// Returns logits [B, vocab] and the presents (the next step's past).
    /// </summary>
    public (OrtValue Logits, OrtValue[] Present) Step(int batch, int pastLength, ReadOnlySpan<long> tokens, ReadOnlySpan<long> positions, ReadOnlySpan<int> pads, OrtValue[] past)
    {
        var total = pastLength + 1;
        var mask = new long[batch * total];
        for (var b = 0; b < batch; b++)
        {
            mask.AsSpan(b * total + pads[b], total - pads[b]).Fill(1);
        }

        var outputs = Run(batch, 1, tokens.ToArray(), positions.ToArray(), mask, past);
        return (outputs[0], outputs[1..]);
    }

    private OrtValue[] Run(int batch, int sequence, long[] ids, long[] positions, long[] mask, OrtValue[] past)
    {
        var names = new List<string>(3 + past.Length) { _config.InputIds, _config.AttentionMask };
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [batch, sequence]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [batch, mask.Length / batch]);
        using var posValue = OrtValue.CreateTensorValueFromMemory(positions, [batch, sequence]);
        var values = new List<OrtValue>(3 + past.Length) { idsValue, maskValue };
        if (_hasPositionIds)
        {
            names.Add(_config.PositionIds);
            values.Add(posValue);
        }

        names.AddRange(_pastNames);
        values.AddRange(past);
        using var runOptions = new RunOptions();
        // Not disposed: disposing the collection would dispose its values, which the caller owns from here on.
        var results = _session.Run(runOptions, names, values, _outputNames);
        var outputs = new OrtValue[results.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = results[i];
        }

        return outputs;
    }

    public void Dispose() => _session.Dispose();
}
