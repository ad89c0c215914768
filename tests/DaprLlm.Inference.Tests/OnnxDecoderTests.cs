using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Tests;

/// <summary>The decode loop over plain ONNX Runtime on the demo model, without the scheduler.</summary>
public sealed class OnnxDecoderTests : IDisposable
{
    private readonly GenAiConfig _config = GenAiConfig.Load(DemoModel.Folder);
    private readonly ModelTokenizer _tokenizer = ModelTokenizer.Load(DemoModel.Folder);
    private readonly OnnxDecoder _decoder;

    public OnnxDecoderTests()
    {
        var (session, _) = SessionFactory.Create(Path.Combine(DemoModel.Folder, _config.ModelFile), ["CPU"], 1, NullLogger.Instance);
        _decoder = new OnnxDecoder(session, _config);
    }

    [Fact]
    public void Genai_config_describes_the_llama_layout_of_the_demo_model()
    {
        Assert.Equal(256, _config.ContextLength);
        Assert.Equal(4, _config.Layers);
        Assert.Equal("past_key_values.3.value", _config.PastValue(3));
        Assert.Equal("present.0.key", _config.PresentKey(0));
        Assert.Contains(_tokenizer.SpecialTokens["<|end|>"], _config.EosTokenIds);
    }

    [Fact]
    public void Kv_cache_steps_give_the_same_next_tokens_as_full_recomputation()
    {
        var ids = ChatTemplate.For(_tokenizer).Render([new("user", "In the beginning God created the heaven and the earth.")]);
        var (logits, kv) = _decoder.Prefill(ids);
        var cached = new List<int>();
        var past = kv;
        var length = ids.Count;
        var next = Sampler.ArgMax(logits);
        for (var i = 0; i < 12; i++)
        {
            cached.Add(next);
            var (stepLogits, present) = _decoder.Step(1, length, [next], [length], [0], past);
            Dispose(past);
            past = present;
            length++;
            next = Sampler.ArgMax(stepLogits);
        }

        Dispose(past);
        var recomputed = new List<int>();
        var sequence = new List<int>(ids);
        for (var i = 0; i < 12; i++)
        {
            var (full, fullKv) = _decoder.Prefill(sequence);
            Dispose(fullKv);
            var token = Sampler.ArgMax(full);
            recomputed.Add(token);
            sequence.Add(token);
        }

        Assert.Equal(recomputed, cached);
    }

    [Fact]
    public void Left_padded_batch_step_gives_each_row_its_solo_logits()
    {
        var template = ChatTemplate.For(_tokenizer);
        var a = template.Render([new("user", "Jesus wept.")]);
        var b = template.Render([new("user", "The LORD is my shepherd; I shall not want.")]);
        var (la, ka) = _decoder.Prefill(a);
        var (lb, kb) = _decoder.Prefill(b);
        var length = Math.Max(a.Count, b.Count);
        var heads = _config.KvHeads;
        var hd = _config.HeadSize;
        var past = new OrtValue[ka.Length];
        for (var t = 0; t < past.Length; t++)
        {
            var dst = new float[2 * heads * length * hd];
            foreach (var (kv, row, len) in new[] { (ka, 0, a.Count), (kb, 1, b.Count) })
            {
                var src = kv[t].GetTensorDataAsSpan<float>();
                for (var h = 0; h < heads; h++)
                {
                    src.Slice(h * len * hd, len * hd).CopyTo(dst.AsSpan(((row * heads + h) * length + length - len) * hd));
                }
            }

            past[t] = OrtValue.CreateTensorValueFromMemory(dst, [2, heads, length, hd]);
        }

        long[] next = [Sampler.ArgMax(la), Sampler.ArgMax(lb)];
        var (batchLogits, batchPresent) = _decoder.Step(2, length, next, [a.Count, b.Count], [length - a.Count, length - b.Count], past);
        var (soloA, soloAKv) = _decoder.Step(1, a.Count, [next[0]], [a.Count], [0], ka);
        var (soloB, soloBKv) = _decoder.Step(1, b.Count, [next[1]], [b.Count], [0], kb);

        var all = batchLogits.AsSpan();
        var vocab = all.Length / 2;
        AssertClose(soloA, all[..vocab]);
        AssertClose(soloB, all[vocab..]);
        foreach (var v in batchPresent.Concat(soloAKv).Concat(soloBKv).Concat(past).Concat(ka).Concat(kb))
        {
            v.Dispose();
        }
    }

    [Fact]
    public void Batched_left_padded_prefill_gives_each_prompt_its_solo_logits_and_kv()
    {
        var template = ChatTemplate.For(_tokenizer);
        IReadOnlyList<int> a = template.Render([new("user", "Jesus wept.")]);
        IReadOnlyList<int> b = template.Render([new("user", "The LORD is my shepherd; I shall not want.")]);

        var (batch, batchKv) = _decoder.PrefillBatch([a, b]);
        var (soloA, soloAKv) = _decoder.Prefill(a);
        var (soloB, soloBKv) = _decoder.Prefill(b);

        var vocab = soloA.Length;
        AssertClose(soloA, batch.AsSpan(0, vocab));
        AssertClose(soloB, batch.AsSpan(vocab, vocab));
        // Row 0 is left-padded: its KV sits at the end of each head's positions.
        var longest = b.Count;
        var width = _config.HeadSize;
        var rowA = batchKv[0].GetTensorDataAsSpan<float>().Slice((longest - a.Count) * width, a.Count * width);
        AssertClose(soloAKv[0].GetTensorDataAsSpan<float>()[..(a.Count * width)], rowA);
        foreach (var v in batchKv.Concat(soloAKv).Concat(soloBKv))
        {
            v.Dispose();
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        Assert.True(worst < 1e-3f, $"max logit difference {worst}");
    }

    private static void Dispose(OrtValue[] values)
    {
        foreach (var v in values)
        {
            v.Dispose();
        }
    }

    public void Dispose() => _decoder.Dispose();
}
