using System.Text;

namespace DaprLlm.Inference.Batching;

/// <summary>
/// Turns token bytes into text for one request: multi-byte characters split across tokens are held until
/// complete, and text that could be the start of a stop sequence is held until it is known not to be.
/// <paramref name="dropLeadingSpace"/>: the reply's first space is dropped, as a SentencePiece decoder drops its dummy prefix.
/// </summary>
public sealed class TextAccumulator(IReadOnlyList<string> stops, bool dropLeadingSpace = false)
{
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly StringBuilder _text = new();
    private readonly int _holdBack = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
    private readonly char[] _chars = new char[64];
    private int _emitted;
    private bool _dropLeadingSpace = dropLeadingSpace;

    /// <summary>Adds a token's bytes; returns text safe to send now and whether a stop sequence completed.</summary>
    public (string Text, bool Stopped) Append(ReadOnlySpan<byte> bytes)
    {
        var before = _text.Length;
        AppendChars(bytes, flush: false);
        if (stops.Count > 0)
        {
            // Only the tail can hold a new match (one that ends in the new text); copying the whole text every token
            // would be quadratic in its length on the shared decode thread.
            var from = Math.Max(0, before - _holdBack);
            var tail = _text.ToString(from, _text.Length - from);
            var cut = -1;
            foreach (var stop in stops)
            {
                var at = tail.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0 && (cut < 0 || from + at < cut))
                {
                    cut = from + at;
                }
            }

            if (cut >= 0)
            {
                var last = cut > _emitted ? _text.ToString(_emitted, cut - _emitted) : "";
                _emitted = Math.Max(_emitted, cut);
                _text.Length = _emitted;
                return (last, true);
            }
        }

        var safe = Math.Max(_emitted, _text.Length - _holdBack);
        if (safe > _emitted && char.IsHighSurrogate(_text[safe - 1]))
        {
            // Pieces are serialized one by one: a pair split between two would reach the client as two U+FFFD.
            safe--;
        }

        var piece = _text.ToString(_emitted, safe - _emitted);
        _emitted = safe;
        return (piece, false);
    }

    /// <summary>Everything not sent yet (at the end of generation).</summary>
    public string Flush()
    {
        AppendChars([], flush: true);
        var rest = _text.ToString(_emitted, _text.Length - _emitted);
        _emitted = _text.Length;
        return rest;
    }

    public string Text => _text.ToString(0, _emitted);

    private void AppendChars(ReadOnlySpan<byte> bytes, bool flush)
    {
        var needed = _utf8.GetCharCount(bytes, flush);
        var buffer = needed <= _chars.Length ? _chars : new char[needed];
        var written = _utf8.GetChars(bytes, buffer, flush);
        var start = 0;
        if (_dropLeadingSpace && written > 0)
        {
            // A reply's first word piece is "▁word": the space is SentencePiece's word marker, not part of the reply.
            _dropLeadingSpace = false;
            start = buffer[0] == ' ' ? 1 : 0;
        }

        _text.Append(buffer, start, written - start);
    }
}
