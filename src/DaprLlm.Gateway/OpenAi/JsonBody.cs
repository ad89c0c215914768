using System.Buffers;
using System.Text.Json;
using DaprLlm.Gateway.Errors;

namespace DaprLlm.Gateway.OpenAi;

/// <summary>
/// Reads a request body as JSON with OpenAI's rules: a size limit enforced while reading (not only from
/// Content-Length), strict types, UTF-8 only; every failure becomes a 400/413 OpenAI error, never an exception.
/// </summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 32,
    };

    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpRequest request, int maxBytes)
        where T : class
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        // A pooled buffer sized by Content-Length when given: a fresh 16 KB array per request was most of the
        // gateway's allocation rate under load.
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is long length and > 0 ? (int)Math.Min(length + 1, maxBytes + 1L) : 4096);
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, maxBytes + 1L));
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(count), request.HttpContext.RequestAborted);
                if (read == 0)
                {
                    break;
                }

                count += read;
                if (count > maxBytes)
                {
                    return (null, TooLarge(maxBytes));
                }
            }

            return Parse<T>(buffer.AsSpan(0, count));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Strings and JsonElements are copied out of the span, so the buffer can go back to the pool afterwards.
    private static (T? Value, IResult? Error) Parse<T>(ReadOnlySpan<byte> body)
        where T : class
    {
        if (HasLoneSurrogateEscape(body))
        {
            // Valid JSON but not Unicode text: read later as a string it throws (a 500), so it is refused here, once.
            return (null, OpenAiError.InvalidRequest(
                "The request body holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF without its pair); text must be valid Unicode.", code: "invalid_json"));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(body, Options);
            if (value is System.Text.Json.Nodes.JsonObject node && HasDuplicateProperty(node))
            {
                return (null, OpenAiError.InvalidRequest("The request body has a property name more than once.", code: "invalid_json"));
            }

            return value is null
                ? (null, OpenAiError.InvalidRequest("The request body must be a JSON object.", code: "invalid_json"))
                : (value, null);
        }
        catch (JsonException e)
        {
            // A reader error (syntax, truncation, invalid UTF-8) is malformed JSON; otherwise the path names the field
            // with a wrong type. The exception's own text may quote internals, so it is never echoed.
            var syntax = e.InnerException is { } inner
                && (inner.GetType().Name == "JsonReaderException" || inner is System.Text.DecoderFallbackException
                    || inner.Message.Contains("UTF-8", StringComparison.Ordinal));
            var param = syntax || string.IsNullOrEmpty(e.Path) || e.Path == "$" ? null : e.Path.TrimStart('$', '.');
            var message = param is null
                ? "We could not parse the JSON body of your request. It must be a valid UTF-8 JSON object."
                : $"Invalid type or value for '{param}'.";
            return (null, OpenAiError.InvalidRequest(message, param, param is null ? "invalid_json" : "invalid_type"));
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.DecoderFallbackException or ArgumentException)
        {
            // Invalid UTF-8 inside a string value surfaces as a transcoding error rather than a JsonException.
            return (null, InvalidText());
        }
    }

    // Raw UTF-8 cannot hold a lone surrogate (the reader refuses it), so only \u escapes need a look: a high one must be
    // followed at once by an escaped low one, and a low one must follow a high one.
    internal static bool HasLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        var i = json.IndexOf((byte)'\\');
        if (i < 0)
        {
            return false;
        }

        var pendingHigh = false;
        for (; i < json.Length; i++)
        {
            if (!pendingHigh && json[i] != '\\')
            {
                // Plain text between escapes is skipped in one vectorized search: most bodies hold a few \n at most.
                var next = json[i..].IndexOf((byte)'\\');
                if (next < 0)
                {
                    return false;
                }

                i += next;
            }

            if (json[i] != '\\' || i + 1 >= json.Length)
            {
                if (pendingHigh)
                {
                    return true;
                }

                continue;
            }

            if (json[i + 1] != 'u' || i + 5 >= json.Length
                || !ushort.TryParse(json.Slice(i + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var unit))
            {
                if (pendingHigh)
                {
                    return true;
                }

                i++; // an escaped character such as \\ or \": skip it whole
                continue;
            }

            var high = unit is >= 0xD800 and <= 0xDBFF;
            var low = unit is >= 0xDC00 and <= 0xDFFF;
            if (pendingHigh != low)
            {
                return true;
            }

            pendingHigh = high;
            i += 5;
        }

        return pendingHigh;
    }

    // A JsonObject reads its properties lazily and throws on a repeated name at first use, outside this reader.
    private static bool HasDuplicateProperty(System.Text.Json.Nodes.JsonObject node)
    {
        try
        {
            _ = node.Count;
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static IResult InvalidText() =>
        OpenAiError.InvalidRequest("The request body is not valid UTF-8 JSON.", code: "invalid_json");

    private static IResult TooLarge(int maxBytes) =>
        OpenAiError.InvalidRequest($"The request body is larger than {maxBytes} bytes.", code: "request_too_large");
}
