using DaprLlm.Contracts.Inference;
using DaprLlm.Inference.Onnx;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// Turns chat messages into prompt ids for the chat formats ORT GenAI model folders use, chosen by the special
/// tokens the tokenizer declares: Phi-3 (&lt;|user|&gt; ... &lt;|end|&gt;, also the demo model), ChatML (Qwen) and
/// Llama 3; or, for formats without role tokens, by tokenizer_config.json's chat_template: Llama 2 chat and Mistral
/// instruct ([INST] ... [/INST]). Role markers and BOS/EOS are inserted by id; message text goes through BPE. A ChatML
/// template's default system prompt (Qwen) is added when the conversation has no system message.
/// </summary>
public sealed partial class ChatTemplate
{
    private readonly ModelTokenizer _tokenizer;
    private readonly Format _format;
    private readonly IReadOnlyList<int> _newline;
    private readonly int _bos;
    private readonly string? _defaultSystem;

    private enum Format { Phi3, ChatMl, Llama3, Llama2, Mistral }

    private ChatTemplate(ModelTokenizer tokenizer, Format format, int endOfTurn, int bos = -1, string? defaultSystem = null)
    {
        _tokenizer = tokenizer;
        _defaultSystem = defaultSystem;
        _format = format;
        _newline = tokenizer.Encode("\n");
        _bos = bos;
        EndOfTurnId = endOfTurn;
    }

    /// <summary>The token that ends an assistant turn (generation stops there).</summary>
    public int EndOfTurnId { get; }

    public string Name => _format.ToString();

    public static ChatTemplate For(ModelTokenizer tokenizer)
    {
        var s = tokenizer.SpecialTokens;
        if (s.ContainsKey("<|user|>") && s.TryGetValue("<|end|>", out var end))
        {
            return new ChatTemplate(tokenizer, Format.Phi3, end);
        }

        if (s.ContainsKey("<|im_start|>") && s.TryGetValue("<|im_end|>", out var imEnd))
        {
            return new ChatTemplate(tokenizer, Format.ChatMl, imEnd, defaultSystem: DefaultSystemPrompt(tokenizer.Config.ChatTemplate));
        }

        if (s.ContainsKey("<|start_header_id|>") && s.TryGetValue("<|eot_id|>", out var eot))
        {
            return new ChatTemplate(tokenizer, Format.Llama3, eot);
        }

        if (tokenizer.Config.ChatTemplate is { } source && source.Contains("[INST]", StringComparison.Ordinal))
        {
            return Instruct(tokenizer, source);
        }

        throw new ModelLoadException("the tokenizer declares no known chat format (Phi-3, ChatML or Llama 3 special tokens, or a Llama 2 / " +
            "Mistral [INST] chat_template in tokenizer_config.json)");
    }

    public List<int> Render(IReadOnlyList<ChatMessage> messages)
    {
        var ids = new List<int>(64);
        var s = _tokenizer.SpecialTokens;
        switch (_format)
        {
            case Format.Phi3:
                foreach (var m in messages)
                {
                    ids.Add(s[$"<|{m.Role}|>"]);
                    ids.AddRange(_newline);
                    ids.AddRange(_tokenizer.Encode(m.Content));
                    ids.Add(EndOfTurnId);
                    ids.AddRange(_newline);
                }

                ids.Add(s["<|assistant|>"]);
                ids.AddRange(_newline);
                break;
            case Format.ChatMl:
                if (_defaultSystem is not null && (messages.Count == 0 || messages[0].Role != "system"))
                {
                    messages = [new ChatMessage("system", _defaultSystem), .. messages];
                }

                foreach (var m in messages)
                {
                    ids.Add(s["<|im_start|>"]);
                    ids.AddRange(_tokenizer.Encode(m.Role + "\n" + m.Content));
                    ids.Add(EndOfTurnId);
                    ids.AddRange(_newline);
                }

                ids.Add(s["<|im_start|>"]);
                ids.AddRange(_tokenizer.Encode("assistant\n"));
                break;
            case Format.Llama3:
                if (s.TryGetValue("<|begin_of_text|>", out var bos))
                {
                    ids.Add(bos);
                }

                foreach (var m in messages)
                {
                    ids.Add(s["<|start_header_id|>"]);
                    ids.AddRange(_tokenizer.Encode(m.Role));
                    ids.Add(s["<|end_header_id|>"]);
                    ids.AddRange(_tokenizer.Encode("\n\n" + m.Content));
                    ids.Add(EndOfTurnId);
                }

                ids.Add(s["<|start_header_id|>"]);
                ids.AddRange(_tokenizer.Encode("assistant"));
                ids.Add(s["<|end_header_id|>"]);
                ids.AddRange(_tokenizer.Encode("\n\n"));
                break;
            case Format.Llama2 or Format.Mistral:
                RenderInstruct(messages, ids);
                break;
        }

        return ids;
    }
}
