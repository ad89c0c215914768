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
        _decoder = new OnnxDecoder(session, _config, DemoModel.Padding);
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
    public void The_demo_model_attends_through_GroupQueryAttention_so_its_rows_are_right_padded_and_updated_in_place()
    {
        Assert.Equal(KvPadding.Right, _decoder.Padding);
        Assert.True(_decoder.UpdatesKvInPlace);
    }

    [Fact]
    public void Padded_batch_step_gives_each_row_its_solo_logits()
    {
        var template = ChatTemplate.For(_tokenizer);
        var a = template.Render([new("user", "Jesus wept.")]);
        var b = template.Render([new("user", "The LORD is my shepherd; I shall not want.")]);
        var (la, ka) = _decoder.Prefill(a);
        var (lb, kb) = _decoder.Prefill(b);
        var length = Math.Max(a.Count, b.Count);
        var past = Batch(length, (ka, a.Count), (kb, b.Count));

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
    public void In_place_steps_give_the_logits_of_copying_steps_and_write_each_row_at_its_own_length()
    {
        var template = ChatTemplate.For(_tokenizer);
        var a = template.Render([new("user", "Jesus wept.")]);
        var b = template.Render([new("user", "The LORD is my shepherd; I shall not want.")]);
        var (la, ka) = _decoder.Prefill(a);
        var (lb, kb) = _decoder.Prefill(b);
        var length = Math.Max(a.Count, b.Count);
        const int Steps = 6;
        var capacity = length + Steps;
        var copying = Batch(length, (ka, a.Count), (kb, b.Count));
        var inPlace = Batch(capacity, (ka, a.Count), (kb, b.Count));
        var before = inPlace[0].GetTensorDataAsSpan<float>().ToArray();

        long[] copyNext = [Sampler.ArgMax(la), Sampler.ArgMax(lb)];
        long[] placeNext = [.. copyNext];
        long[] positions = [a.Count, b.Count];
        int[] pads = [length - a.Count, length - b.Count];
        var logits = new float[2 * _decoder.Vocabulary];
        for (var step = 0; step < Steps; step++)
        {
            var (expected, present) = _decoder.Step(2, length + step, copyNext, positions, pads, copying);
            Dispose(copying);
            copying = present;
            _decoder.StepInPlace(2, length + step, placeNext, positions, pads, inPlace, logits);
            AssertClose(expected, logits);
            for (var r = 0; r < 2; r++)
            {
                copyNext[r] = Sampler.ArgMax(expected.AsSpan(r * _decoder.Vocabulary, _decoder.Vocabulary));
                placeNext[r] = Sampler.ArgMax(logits.AsSpan(r * _decoder.Vocabulary, _decoder.Vocabulary));
                positions[r]++;
            }

            Assert.Equal(copyNext, placeNext);
        }

        // Row 0 (the shorter) got its new keys right after its prompt; the positions before stayed as they were.
        var width = _config.HeadSize;
        var after = inPlace[0].GetTensorDataAsSpan<float>();
        Assert.True(after[..(a.Count * width)].SequenceEqual(before.AsSpan(0, a.Count * width)));
        Assert.False(after.Slice(a.Count * width, width).SequenceEqual(before.AsSpan(a.Count * width, width)));
        AssertClose(copying[0].GetTensorDataAsSpan<float>()[..((a.Count + Steps) * width)], after[..((a.Count + Steps) * width)]);
        Dispose(copying);
        Dispose(inPlace);
        Dispose(ka);
        Dispose(kb);
    }

    [Fact]
    public void A_step_split_into_two_concurrent_halves_gives_the_same_logits_and_kv_as_one_call()
    {
        var template = ChatTemplate.For(_tokenizer);
        string[] texts = ["Jesus wept.", "The LORD is my shepherd; I shall not want.", "Praise ye the LORD.", "My son, forget not my law.", "And it came to pass."];
        var prompts = texts.Select(t => template.Render([new("user", t)])).ToArray();
        var prefills = prompts.Select(p => _decoder.Prefill(p)).ToArray();
        var rows = prefills.Select((p, i) => (p.Kv, prompts[i].Count)).ToArray();
        var length = prompts.Max(p => p.Count);
        const int Steps = 5;
        var whole = Batch(length + Steps, rows);
        var split = Batch(length + Steps, rows);
        long[] nextWhole = [.. prefills.Select(p => (long)Sampler.ArgMax(p.Logits))];
        long[] nextSplit = [.. nextWhole];
        long[] positions = [.. prompts.Select(p => (long)p.Count)];
        int[] pads = [.. prompts.Select(p => length - p.Count)];
        var vocab = _decoder.Vocabulary;
        var logitsWhole = new float[texts.Length * vocab];
        var logitsSplit = new float[texts.Length * vocab];
        for (var step = 0; step < Steps; step++)
        {
            _decoder.SplitStepRows = 0;
            _decoder.StepInPlace(texts.Length, length + step, nextWhole, positions, pads, whole, logitsWhole);
            // Five rows from two: halves of two and three rows run at once.
            _decoder.SplitStepRows = 2;
            _decoder.StepInPlace(texts.Length, length + step, nextSplit, positions, pads, split, logitsSplit);
            Assert.True(logitsWhole.AsSpan().SequenceEqual(logitsSplit), $"step {step}: split logits differ");
            for (var r = 0; r < texts.Length; r++)
            {
                nextWhole[r] = Sampler.ArgMax(logitsWhole.AsSpan(r * vocab, vocab));
                nextSplit[r] = Sampler.ArgMax(logitsSplit.AsSpan(r * vocab, vocab));
                positions[r]++;
            }
        }

        for (var t = 0; t < whole.Length; t++)
        {
            Assert.True(whole[t].GetTensorDataAsSpan<float>().SequenceEqual(split[t].GetTensorDataAsSpan<float>()), $"KV tensor {t} differs");
        }

        Dispose(whole);
        Dispose(split);
        foreach (var p in prefills)
        {
            Dispose(p.Kv);
        }
    }

    [Fact]
    public void A_failure_in_either_half_of_a_split_step_is_thrown_to_the_caller_and_the_next_step_works()
    {
        var template = ChatTemplate.For(_tokenizer);
        var prompts = new[] { "Jesus wept.", "Praise ye the LORD.", "My son, forget not my law.", "And it came to pass." }
            .Select(t => template.Render([new("user", t)])).ToArray();
        var prefills = prompts.Select(p => _decoder.Prefill(p)).ToArray();
        var length = prompts.Max(p => p.Count);
        var kv = Batch(length + 2, [.. prefills.Select((p, i) => (p.Kv, prompts[i].Count))]);
        long[] positions = [.. prompts.Select(p => (long)p.Count)];
        int[] pads = [.. prompts.Select(p => length - p.Count)];
        var logits = new float[prompts.Length * _decoder.Vocabulary];
        _decoder.SplitStepRows = 2;

        // A token id outside the vocabulary fails the embedding lookup: row 0 runs on the helper thread, row 3 on the caller's.
        Assert.ThrowsAny<OnnxRuntimeException>(() => _decoder.StepInPlace(4, length, [1_000_000, 1, 1, 1], positions, pads, kv, logits));
        Assert.ThrowsAny<OnnxRuntimeException>(() => _decoder.StepInPlace(4, length, [1, 1, 1, 1_000_000], positions, pads, kv, logits));
        _decoder.StepInPlace(4, length, [1, 1, 1, 1], positions, pads, kv, logits);

        Assert.All(Enumerable.Range(0, 4), r => Assert.Contains(logits.AsSpan(r * _decoder.Vocabulary, _decoder.Vocabulary).ToArray(), l => l != 0));
        Dispose(kv);
        foreach (var p in prefills)
        {
            Dispose(p.Kv);
        }
    }

    [Fact]
    public void Batched_padded_prefill_gives_each_prompt_its_solo_logits_and_kv()
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
        // Row 0 is padded: its KV sits at the start of each head's positions (right padding) or at the end (left).
        var longest = b.Count;
        var width = _config.HeadSize;
        var start = _decoder.Padding == KvPadding.Left ? longest - a.Count : 0;
        var rowA = batchKv[0].GetTensorDataAsSpan<float>().Slice(start * width, a.Count * width);
        AssertClose(soloAKv[0].GetTensorDataAsSpan<float>()[..(a.Count * width)], rowA);
        foreach (var v in batchKv.Concat(soloAKv).Concat(soloBKv))
        {
            v.Dispose();
        }
    }

    /// <summary>Two rows' prefill KV in one batch tensor per layer with room for <paramref name="capacity"/> positions, padded as the model needs.</summary>
    private OrtValue[] Batch(int capacity, params (OrtValue[] Kv, int Length)[] rows)
    {
        var heads = _config.KvHeads;
        var hd = _config.HeadSize;
        var longest = rows.Max(r => r.Length);
        var past = new OrtValue[rows[0].Kv.Length];
        for (var t = 0; t < past.Length; t++)
        {
            var dst = new float[rows.Length * heads * capacity * hd];
            for (var row = 0; row < rows.Length; row++)
            {
                var (kv, len) = rows[row];
                var src = kv[t].GetTensorDataAsSpan<float>();
                var at = _decoder.Padding == KvPadding.Left ? longest - len : 0;
                for (var h = 0; h < heads; h++)
                {
                    src.Slice(h * len * hd, len * hd).CopyTo(dst.AsSpan(((row * heads + h) * capacity + at) * hd));
                }
            }

            past[t] = OrtValue.CreateTensorValueFromMemory(dst, [rows.Length, heads, capacity, hd]);
        }

        return past;
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
