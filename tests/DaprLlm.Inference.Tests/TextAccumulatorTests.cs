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
}
