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

    [Fact]
    public void Stop_sequence_spanning_three_pieces_is_found_from_its_first_piece()
    {
        var text = new TextAccumulator(["\n\n", "The end"]);
        var sent = new StringBuilder();
        var stopped = false;

        foreach (var piece in new[] { "abc Th", "e e", "nd more" })
        {
            var (chunk, stop) = text.Append(Encoding.UTF8.GetBytes(piece));
            sent.Append(chunk);
            stopped |= stop;
        }

        Assert.True(stopped);
        Assert.Equal("abc ", sent.ToString());
        Assert.Equal("abc ", text.Text);
    }

    [Fact]
    public void A_token_appended_to_a_long_text_with_stops_copies_only_the_tail()
    {
        // The decode thread appends every token of every row: copying the whole text each time is quadratic in its length.
        var text = new TextAccumulator(["STOP"]);
        var line = Encoding.UTF8.GetBytes(new string('a', 1_000));
        for (var i = 0; i < 200; i++)
        {
            text.Append(line);
        }

        text.Append("b"u8); // first-call costs (JIT, search setup) are not what is measured

        var before = GC.GetAllocatedBytesForCurrentThread();
        var (piece, stopped) = text.Append("b"u8);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.False(stopped);
        Assert.Equal("a", piece);
        Assert.True(allocated < 4_000, $"one token allocated {allocated} bytes on a 200,000-char text");
    }
}
