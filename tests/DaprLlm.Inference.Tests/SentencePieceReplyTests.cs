using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Telemetry;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// A SentencePiece model's reply starts with a word piece ("▁I"): its text starts without the space, as the tokenizer's
/// own decoder (and Hugging Face's, and ONNX Runtime GenAI's) drops the dummy prefix.
/// </summary>
public sealed class SentencePieceReplyTests : IDisposable
{
    private static readonly ModelTokenizer SentencePiece =
        ModelTokenizer.Load(Path.Combine(AppContext.BaseDirectory, "TestModels", "tokenizers", "sentencepiece"));

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly BatchScheduler _scheduler;

    public SentencePieceReplyTests()
    {
        // The demo model's vocabulary (2,048) covers the test tokenizer's ids (517); a logit bias picks the tokens.
        var config = GenAiConfig.Load(DemoModel.Folder);
        var (decoder, provider) = OnnxDecoder.Open(DemoModel.Folder, config, ["CPU"], 1, NullLogger.Instance);
        _scheduler = new BatchScheduler("sentencepiece", provider, decoder, SentencePiece, [], config.ContextLength, 4, 4,
            new InferenceMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), NullLogger.Instance);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reply_starting_with_a_word_piece_has_no_leading_space(bool stream)
    {
        var ct = TestContext.Current.CancellationToken;
        var word = SentencePiece.Encode("I")[0];
        Assert.Equal((byte)' ', SentencePiece.TokenBytes(word)[0]);
        var job = new GenerationJob(SentencePiece.Encode("In the beginning"), new SamplingParameters(3, 0, 1, 0, null, []), ct, stream)
        {
            Logits = LogitAdjuster.For(null, null, new Dictionary<int, double> { [word] = 100 }),
        };

        Assert.True(_scheduler.TryEnqueue(job));
        var text = "";
        await foreach (var e in job.Events.ReadAllAsync(ct))
        {
            text += e is GenerationEvent.Token t ? t.Text : "";
        }

        Assert.Equal(SentencePiece.Decode([word, word, word]), stream ? text : job.CollectedText);
        Assert.Equal("I I I", stream ? text : job.CollectedText);
    }

    public void Dispose()
    {
        _scheduler.Dispose();
        _services.Dispose();
    }
}
