using System.Text;
using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// Llama 2 chat and Mistral instruct: turns marked with [INST] ... [/INST] in plain text, BOS and EOS inserted by id.
/// The rendering follows the chat_template of meta-llama/Llama-2-*-chat-hf and mistralai/Mistral-7B-Instruct-v0.1/v0.2:
/// <code>
/// Llama 2: &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\nsystem\n&lt;&lt;/SYS&gt;&gt;\n\nuser [/INST] answer &lt;/s&gt;&lt;s&gt;[INST] user [/INST]
/// Mistral: &lt;s&gt;[INST] user [/INST]answer&lt;/s&gt;[INST] user [/INST]
/// </code>
/// </summary>
public sealed partial class ChatTemplate
{
    private static ChatTemplate Instruct(ModelTokenizer tokenizer, string source)
    {
        // Mistral's v3 / Tekken tokenizers make [INST] a control token with other spacing: refuse rather than render it as text.
        if (tokenizer.SpecialTokens.ContainsKey("[INST]"))
        {
            throw new ModelLoadException("the chat_template uses [INST] as a control token (Mistral tokenizer v3 or Tekken), which is not supported; " +
                "supported [INST] formats: Llama 2 chat and Mistral instruct v0.1/v0.2");
        }

        var bosToken = tokenizer.Config.BosToken ?? "<s>";
        var eosToken = tokenizer.Config.EosToken ?? "</s>";
        if (!tokenizer.TryGetTokenId(bosToken, out var bos) || !tokenizer.TryGetTokenId(eosToken, out var eos))
        {
            throw new ModelLoadException($"the [INST] chat_template needs the BOS and EOS tokens '{bosToken}' and '{eosToken}', which the tokenizer lacks");
        }

        // Llama 2's template carries the <<SYS>> block; Mistral's has no system role.
        var format = source.Contains("<<SYS>>", StringComparison.Ordinal) ? Format.Llama2 : Format.Mistral;
        return new ChatTemplate(tokenizer, format, eos, bos);
    }

    /// <summary>
    /// Text between two special tokens is encoded as one piece, as Hugging Face tokenizes a rendered template (a
    /// SentencePiece tokenizer adds its leading space once per piece). A system message goes into the next user turn:
    /// Llama 2's &lt;&lt;SYS&gt;&gt; block, or for Mistral before the user's text as mistral-common does.
    /// </summary>
    private void RenderInstruct(IReadOnlyList<ChatMessage> messages, List<int> ids)
    {
        var llama2 = _format == Format.Llama2;
        var text = new StringBuilder();
        string? system = null;
        if (!llama2)
        {
            ids.Add(_bos);
        }

        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case "system":
                    system = system is null ? m.Content : $"{system}\n\n{m.Content}";
                    break;
                case "assistant":
                    text.Append(llama2 ? $" {m.Content.Trim()} " : m.Content);
                    Flush();
                    ids.Add(EndOfTurnId);
                    break;
                default:
                    User(m.Content);
                    break;
            }
        }

        // A system message with no user turn after it still reaches the model.
        if (system is not null)
        {
            User("");
        }

        Flush();

        void User(string content)
        {
            if (system is not null)
            {
                content = llama2 ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{content}" : content.Length == 0 ? system : $"{system}\n\n{content}";
                system = null;
            }

            if (llama2)
            {
                Flush();
                ids.Add(_bos);
            }

            text.Append(llama2 ? $"[INST] {content.Trim()} [/INST]" : $"[INST] {content} [/INST]");
        }

        void Flush()
        {
            if (text.Length > 0)
            {
                ids.AddRange(_tokenizer.Encode(text.ToString()));
                text.Clear();
            }
        }
    }
}
