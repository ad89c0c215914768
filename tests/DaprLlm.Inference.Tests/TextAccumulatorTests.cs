using System.Text;
using DaprLlm.Inference.Batching;

namespace DaprLlm.Inference.Tests;

public sealed class TextAccumulatorTests
{
    [Fact]
    public void Multibyte_character_split_across_tokens_is_sent_once_complete()
    {
        var text = new TextAccumulator([]);
        var bytes = Encoding.UTF8.GetBytes("é");

        Assert.Equal(("", false), text.Append(bytes.AsSpan(0, 1)));
        Assert.Equal(("é", false), text.Append(bytes.AsSpan(1)));
    }

    [Fact]
    public void Stop_sequence_across_tokens_cuts_the_text_before_it()
    {
        var text = new TextAccumulator(["END"]);
        var sent = new StringBuilder();

        foreach (var piece in new[] { "and the", " E", "N", "D more" })
        {
            var (chunk, stopped) = text.Append(Encoding.UTF8.GetBytes(piece));
            sent.Append(chunk);
            if (stopped)
            {
                Assert.Equal("and the ", sent.ToString());
                Assert.Equal("D more", piece);
                return;
            }
        }

        Assert.Fail("the stop sequence was not detected");
    }

    [Fact]
    public void Held_back_text_is_flushed_when_no_stop_follows()
    {
        var text = new TextAccumulator(["STOP"]);
        var sent = new StringBuilder();

        sent.Append(text.Append("abc ST"u8).Text);
        sent.Append(text.Flush());

        Assert.Equal("abc ST", sent.ToString());
    }

    [Fact]
    public void Held_back_text_is_never_cut_inside_a_surrogate_pair()
    {
        // "STOP" holds back 3 chars: of "abc😀de" (7 UTF-16 chars) the first 4 would end on the emoji's high surrogate.
        var text = new TextAccumulator(["STOP"]);
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

        var (first, stopped) = text.Append(Encoding.UTF8.GetBytes("abc\U0001F600de"));
        var rest = text.Flush();

        Assert.False(stopped);
        Assert.Equal("abc", first);
        Assert.Equal("\U0001F600de", rest);
        // Each piece is serialized on its own: a lone surrogate would reach the client as U+FFFD.
        strict.GetBytes(first);
        strict.GetBytes(rest);
    }
}
