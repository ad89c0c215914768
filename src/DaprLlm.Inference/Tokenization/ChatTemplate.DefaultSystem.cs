using System.Text;
using System.Text.RegularExpressions;

namespace DaprLlm.Inference.Tokenization;

/// <summary>
/// The system prompt a ChatML chat_template writes when a conversation has none: Qwen2 and Qwen2.5 render
/// "&lt;|im_start|&gt;system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.&lt;|im_end|&gt;\n" first,
/// and the model was tuned with it, so leaving it out changes its answers. Read from the template's string literal,
/// never by running the Jinja.
/// </summary>
public sealed partial class ChatTemplate
{
    // The literal as the template writes it: a quoted Jinja string holding the whole system turn.
    [GeneratedRegex(@"(?<q>['""])<\|im_start\|>system\\n(?<text>(?:(?!\k<q>)[^\\]|\\.)*?)<\|im_end\|>\\n\k<q>")]
    private static partial Regex DefaultSystemTurn();

    /// <summary>The default system prompt of a ChatML chat_template, or null when it writes none.</summary>
    internal static string? DefaultSystemPrompt(string? chatTemplate)
    {
        if (chatTemplate is null || DefaultSystemTurn().Match(chatTemplate) is not { Success: true } match)
        {
            return null;
        }

        var text = Unescape(match.Groups["text"].Value);
        return text.Length == 0 ? null : text;
    }

    // Jinja string escapes: \n, \t, \\ and the quotes; anything else keeps its backslash, as Jinja does.
    private static string Unescape(string literal)
    {
        var text = new StringBuilder(literal.Length);
        for (var i = 0; i < literal.Length; i++)
        {
            if (literal[i] != '\\' || i + 1 == literal.Length)
            {
                text.Append(literal[i]);
                continue;
            }

            var next = literal[++i];
            text.Append(next switch
            {
                'n' => "\n",
                't' => "\t",
                '\\' or '\'' or '"' => next.ToString(),
                _ => "\\" + next,
            });
        }

        return text.ToString();
    }
}
