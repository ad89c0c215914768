using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// Qwen's ChatML chat_template writes a default system turn when the conversation has none; the model was tuned with
/// it, so the rendered prompt must hold it exactly as the template writes it (checked on the real Qwen2.5 files), and
/// must not when the caller sends a system message or the template has no default.
/// </summary>
public sealed class ChatMlDefaultSystemTests
{
    private const string QwenDefault = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

    private static readonly ModelTokenizer Qwen = RealTokenizers.Tokenizer("qwen2_5");

    [Fact]
    public void Qwen_prompt_without_a_system_message_starts_with_the_templates_default_system_turn()
    {
        var ids = ChatTemplate.For(Qwen).Render([new ChatMessage("user", "Hello")]);

        // What Qwen2.5's template renders for one user message with add_generation_prompt, tokenized with specials by id.
        Assert.Equal(Expected($"<|im_start|>system\n{QwenDefault}<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"), ids);
    }

    [Fact]
    public void A_system_message_of_the_caller_replaces_the_default()
    {
        var ids = ChatTemplate.For(Qwen).Render([new ChatMessage("system", "Answer in French."), new ChatMessage("user", "Hello")]);

        Assert.Equal(Expected("<|im_start|>system\nAnswer in French.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"), ids);
    }

    [Theory]
    [InlineData("{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}", "You are a helpful assistant.")] // Qwen2
    [InlineData("{{- \"<|im_start|>system\\nIt's a \\\"test\\\".\\n\\nTwo lines.<|im_end|>\\n\" }}", "It's a \"test\".\n\nTwo lines.")]
    [InlineData("{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}", null)]
    [InlineData("{{ '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}", null)]
    [InlineData(null, null)]
    public void The_default_is_read_from_the_templates_literal_system_turn(string? template, string? expected)
    {
        Assert.Equal(expected, ChatTemplate.DefaultSystemPrompt(template));
    }

    // Splits the rendered text at Qwen's special tokens: those by id, the text between them through the tokenizer.
    private static List<int> Expected(string rendered)
    {
        var ids = new List<int>();
        var rest = rendered;
        while (rest.Length > 0)
        {
            var next = new[] { "<|im_start|>", "<|im_end|>" }
                .Select(t => (Token: t, At: rest.IndexOf(t, StringComparison.Ordinal))).Where(p => p.At >= 0).OrderBy(p => p.At).FirstOrDefault();
            if (next.Token is null)
            {
                ids.AddRange(Qwen.Encode(rest));
                break;
            }

            ids.AddRange(Qwen.Encode(rest[..next.At]));
            ids.Add(Qwen.SpecialTokens[next.Token]);
            rest = rest[(next.At + next.Token.Length)..];
        }

        return ids;
    }
}
