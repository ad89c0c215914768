using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// The tokenizer files of real models (Qwen2.5, Mistral Nemo, Mistral 7B) against golden ids from an independent implementation
/// of the Hugging Face tokenizers pipeline (tools/tokenizer-golden): English, code, long numbers, whitespace runs,
/// contractions, composed and decomposed accents, CJK, emoji, and special-token text typed by a user.
/// </summary>
public sealed class RealTokenizerGoldenTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in RealTokenizers.Models.Keys)
        {
            for (var i = 0; i < RealTokenizers.GoldenOf(model).Cases.Count; i++)
            {
                data.Add(model, i);
            }
        }

        return data;
    }

    public static TheoryData<string, int> SpecialTokenLookalikes()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in RealTokenizers.Models.Keys)
        {
            var cases = RealTokenizers.GoldenOf(model).Cases;
            for (var i = 0; i < cases.Count; i++)
            {
                if (cases[i].IdsParsingSpecialTokens is not null)
                {
                    data.Add(model, i);
                }
            }
        }

        return data;
    }

    public static TheoryData<string> Models() => [.. RealTokenizers.Models.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encodes_each_text_to_the_reference_ids(string model, int index)
    {
        var golden = RealTokenizers.GoldenOf(model).Cases[index];

        var ids = RealTokenizers.Tokenizer(model).Encode(golden.Text);

        Assert.True(golden.Ids.SequenceEqual(ids),
            $"{model} text {index} {Show(golden.Text)}:\n expected [{string.Join(",", golden.Ids)}]\n actual   [{string.Join(",", ids)}]");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decodes_the_reference_ids_to_the_reference_text(string model, int index)
    {
        var golden = RealTokenizers.GoldenOf(model).Cases[index];

        Assert.Equal(golden.Decoded, RealTokenizers.Tokenizer(model).Decode(golden.Ids));
    }

    [Theory]
    [MemberData(nameof(SpecialTokenLookalikes))]
    public void Special_token_text_from_a_user_stays_text(string model, int index)
    {
        // The reference would turn these strings into role markers if asked to parse special tokens; we never do, so
        // a prompt cannot forge a turn. The golden ids are the reference's with special tokens kept as text.
        var golden = RealTokenizers.GoldenOf(model).Cases[index];
        var tokenizer = RealTokenizers.Tokenizer(model);
        var specialIds = tokenizer.SpecialTokens.Values.ToHashSet();

        var ids = tokenizer.Encode(golden.Text);

        Assert.Contains(golden.IdsParsingSpecialTokens!, specialIds.Contains);
        Assert.DoesNotContain(ids, specialIds.Contains);
        Assert.Equal(golden.Text, tokenizer.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Loads_as_its_kind_and_encode_adds_no_bos(string model)
    {
        // The reference adds BOS (Mistral's <s>) only when asked to add special tokens; the golden ids are without it,
        // and our Encode never adds it: the chat template renders BOS by id.
        var golden = RealTokenizers.GoldenOf(model);
        var tokenizer = RealTokenizers.Tokenizer(model);

        var ids = tokenizer.Encode("Hello");

        Assert.Equal(RealTokenizers.Models[model], tokenizer.Kind);
        Assert.DoesNotContain(ids, golden.SpecialsAddedByReference.Prefix.Contains);
        if (tokenizer.Config.BosToken is { } bos && golden.SpecialsAddedByReference.Prefix.Count > 0)
        {
            Assert.True(tokenizer.TryGetTokenId(bos, out var bosId));
            Assert.Equal(golden.SpecialsAddedByReference.Prefix, [bosId]);
        }
    }

    private static string Show(string text) => text.Length <= 40 ? $"\"{text}\"" : $"\"{text[..40]}…\"";
}
