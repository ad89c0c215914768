using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// The tokenizer files of dropped-in folders, on small fixtures built by tools/demo-model/make_test_tokenizers.py:
/// a Llama-3-style tokenizer.json (Split regex + ByteLevel) and a SentencePiece BPE tokenizer.model with byte
/// fallback (Llama-2 / Phi-3 kind). Expected ids come from the reference sentencepiece library.
/// </summary>
public sealed class TokenizerFormatTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestModels", "tokenizers");
    private static readonly ModelTokenizer Llama3 = ModelTokenizer.Load(Path.Combine(Root, "llama3-bpe"));
    private static readonly ModelTokenizer SentencePiece = ModelTokenizer.Load(Path.Combine(Root, "sentencepiece"));

    public static TheoryData<string> Texts =>
    [
        "In the beginning God created the heaven and the earth.",
        "And God said, Let there be light:\nand there was light.\n\n  Verse 2:3 — 'quoted'  double  spaces 12345",
        "Café naïve façade, Ελληνικά, 日本語 and an emoji 😀 survive",
        "<|user|> and <|eot_id|> are plain text when they come from a user",
    ];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Llama3_style_tokenizer_json_round_trips(string text)
    {
        var ids = Llama3.Encode(text);

        Assert.NotEmpty(ids);
        Assert.Equal(text, Llama3.Decode(ids));
        Assert.DoesNotContain(Llama3.SpecialTokens["<|eot_id|>"], ids);
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Sentencepiece_tokenizer_model_round_trips(string text)
    {
        var ids = SentencePiece.Encode(text);

        Assert.NotEmpty(ids);
        Assert.Equal(text, SentencePiece.Decode(ids));
        Assert.DoesNotContain(SentencePiece.SpecialTokens["<|end|>"], ids);
    }

    [Fact]
    public void Llama3_tokenizer_splits_with_the_regex_the_file_declares()
    {
        // The fixture has a "3 4" merge. Llama 3's split takes digits three at a time, so in "1234567" the 3 and the
        // 4 sit in different pre-tokens and must not merge; GPT-2's split (one run of digits) would merge them.
        var merged = Llama3.Encode("34");
        var digits = Llama3.Encode("1234567");

        Assert.Single(merged);
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], digits.Select(id => Llama3.Decode([id])));
        Assert.Equal("tokenizer.json byte-level BPE", Llama3.Kind);
    }

    [Fact]
    public void Sentencepiece_ids_equal_the_reference_implementation()
    {
        // From the sentencepiece Python library on the same tokenizer.model.
        int[] reference = [297, 446, 261, 306, 460, 267, 446, 311, 359, 289, 272, 287, 283, 261, 264, 293, 399];

        Assert.Equal(reference, SentencePiece.Encode("In the beginning God created the heaven"));
        Assert.Equal("tokenizer.model SentencePiece", SentencePiece.Kind);
        Assert.Equal([(byte)'\n'], SentencePiece.TokenBytes(13).ToArray());
        Assert.Equal(" the"u8.ToArray(), SentencePiece.TokenBytes(261).ToArray());
    }

    [Fact]
    public void Chat_templates_come_from_each_format_s_special_tokens()
    {
        var llama3 = ChatTemplate.For(Llama3);
        var phi3 = ChatTemplate.For(SentencePiece);

        var llamaIds = llama3.Render([new ChatMessage("user", "Hello")]);
        var phiIds = phi3.Render([new ChatMessage("user", "Hello")]);

        Assert.Equal("Llama3", llama3.Name);
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            Llama3.Decode(llamaIds));
        Assert.Equal(Llama3.SpecialTokens["<|eot_id|>"], llama3.EndOfTurnId);
        Assert.Equal("Phi3", phi3.Name);
        Assert.Equal(SentencePiece.SpecialTokens["<|user|>"], phiIds[0]);
        Assert.Equal(516, phiIds[0]);
        Assert.Equal(SentencePiece.SpecialTokens["<|end|>"], phi3.EndOfTurnId);
    }

    [Fact]
    public void A_byte_level_file_with_a_normalizer_we_do_not_apply_fails_clearly()
    {
        // Skipping the normalizer would silently encode text differently from the model's training.
        using var folder = new TempFolder("daprllm-tok");
        folder.Write("tokenizer.json", """
            {"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"},
             "normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Lowercase"}]}}
            """);

        var error = Assert.Throws<ModelLoadException>(() => ModelTokenizer.Load(folder.Path));

        Assert.Contains("normalizer 'Lowercase' is not supported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sentencepiece_style_file_with_a_metaspace_pre_tokenizer_fails_clearly()
    {
        // Newer files prepend ▁ only where the text lacks one; loading them as Llama 2's would shift every first token.
        using var folder = new TempFolder("daprllm-tok");
        folder.Write("tokenizer.json", """
            {"model":{"type":"BPE","byte_fallback":true,"vocab":{"a":0},"merges":[]},"normalizer":null,
             "pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":false}}
            """);

        var error = Assert.Throws<ModelLoadException>(() => ModelTokenizer.Load(folder.Path));

        Assert.Contains("add the folder's tokenizer.model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_a_usable_tokenizer_fails_clearly()
    {
        var empty = Directory.CreateTempSubdirectory("daprllm-tok-").FullName;
        try
        {
            var missing = Assert.Throws<ModelLoadException>(() => ModelTokenizer.Load(empty));
            Assert.Contains("neither tokenizer.json nor tokenizer.model", missing.Message, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(empty, "tokenizer.json"), """{"model":{"type":"Unigram","vocab":[]}}""");
            var unigram = Assert.Throws<ModelLoadException>(() => ModelTokenizer.Load(empty));
            Assert.Contains("no tokenizer.model beside it", unigram.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
