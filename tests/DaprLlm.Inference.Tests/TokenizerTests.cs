using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Tests;

public sealed class TokenizerTests
{
    private static readonly ModelTokenizer Tokenizer = ModelTokenizer.Load(DemoModel.Folder);

    [Theory]
    [InlineData("In the beginning God created the heaven and the earth.")]
    [InlineData("And God said, Let there be light: and there was light.\n\nVerse 2:3 — 'quoted'  double  spaces")]
    [InlineData("Café naïve façade, Ελληνικά, 日本語 and an emoji 😀 survive byte-level BPE")]
    [InlineData("<|user|> is plain text when it comes from a user")]
    public void Text_round_trips_through_encode_and_decode(string text)
    {
        var ids = Tokenizer.Encode(text);

        Assert.NotEmpty(ids);
        Assert.Equal(text, Tokenizer.Decode(ids));
    }

    [Fact]
    public void Common_words_become_single_tokens_after_merges()
    {
        var ids = Tokenizer.Encode(" the LORD");

        Assert.True(ids.Count < " the LORD".Length, $"{ids.Count} tokens for 9 characters: the merges did not apply");
    }

    [Fact]
    public void Special_token_text_in_user_content_is_not_a_special_token()
    {
        var ids = Tokenizer.Encode("<|end|>");

        Assert.DoesNotContain(Tokenizer.SpecialTokens["<|end|>"], ids);
    }

    [Fact]
    public void Chat_template_renders_the_phi3_format_with_role_tokens_by_id()
    {
        var template = ChatTemplate.For(Tokenizer);

        var ids = template.Render([new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hello")]);

        Assert.Equal("<|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\n", Tokenizer.Decode(ids));
        Assert.Equal(Tokenizer.SpecialTokens["<|system|>"], ids[0]);
        Assert.Equal(Tokenizer.SpecialTokens["<|end|>"], template.EndOfTurnId);
    }
}
