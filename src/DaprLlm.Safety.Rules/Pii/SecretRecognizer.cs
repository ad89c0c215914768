using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>Credentials: PEM private keys, JWTs, AWS access key ids, bearer tokens and <c>api_key=...</c> assignments.</summary>
internal static partial class SecretRecognizer
{
    // A key cut off before its END line is still a leaked key: then the span runs to the end of the text. OpenPGP
    // armour says "PRIVATE KEY BLOCK" (RFC 4880 §6.2).
    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]{1,10} ){0,3}PRIVATE KEY(?: BLOCK)?-----|\z)", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    [GeneratedRegex(@"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex AwsAccessKeyId();

    [GeneratedRegex(@"(?<![A-Za-z0-9])bearer\s+(?<value>[A-Za-z0-9_\-.~+/]{16,}=*)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BearerToken();

    // The value: a quoted one up to its closing quote, else a run up to a blank, a quote, ',' or ';' (passwords have
    // '&', '@', '!'...: a narrower class masked "Tr0ub4dor" and left "&3horse"); a '&' that starts a query parameter
    // ("token=abc123def456&user=bob") ends it.
    [GeneratedRegex(@"\G(?:(?<![A-Za-z0-9])(?:api[_\-. ]?key|access[_\-]?key|secret[_\-]?key|client[_\-]?secret|(?:access|auth|refresh)[_\-]?token|(?<password>password|passwd|pwd)|secret|token)[""']?\s{0,3}[:=]\s{0,3}(?:""(?<value>[^""\n]{8,512})""|'(?<value>[^'\n]{8,512})'|[""']?(?<value>(?:[^\s""',;&]|&(?![A-Za-z0-9_]+=)){8,512})))", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex KeyAssignment();

    private static readonly SearchValues<string> AwsPrefixes = SearchValues.Create(["AKIA", "ASIA", "ABIA", "ACCA"], StringComparison.Ordinal);

    // "client_secret" plus a quote and three blanks: a key assignment starts at most 20 characters before its ':' or '='.
    private static readonly AnchoredMatches KeyAssignmentNear = new(
        KeyAssignment(),
        static (text, from) => text.AsSpan(from).IndexOfAny(':', '=') is var i and >= 0 ? from + i : -1,
        static (_, anchor) => Math.Max(0, anchor - 20),
        asciiBoundary: true);

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        var span = text.AsSpan();
        // Each family has a literal it cannot do without; without it the regex is not run at all (not even set up).
        if (span.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            foreach (var match in PrivateKey().EnumerateMatches(text))
            {
                found.TryAdd(PiiEntityTypes.PrivateKey, match.Index, match.Index + match.Length);
            }
        }

        if (span.Contains("eyJ", StringComparison.Ordinal))
        {
            foreach (var match in Jwt().EnumerateMatches(text))
            {
                if (IsJwt(text.AsSpan(match.Index, match.Length)))
                {
                    found.TryAdd(PiiEntityTypes.Jwt, match.Index, match.Index + match.Length);
                }
            }
        }

        if (span.IndexOfAny(AwsPrefixes) >= 0)
        {
            foreach (var match in AwsAccessKeyId().EnumerateMatches(text))
            {
                found.TryAdd(PiiEntityTypes.AwsAccessKey, match.Index, match.Index + match.Length);
            }
        }

        // Only the secret value is the span: "Authorization: Bearer <BEARER_TOKEN>" keeps the readable part.
        if (span.Contains("bearer", StringComparison.OrdinalIgnoreCase))
        {
            for (var match = BearerToken().Match(text); match.Success; match = match.NextMatch())
            {
                var value = match.Groups["value"];
                found.TryAdd(PiiEntityTypes.BearerToken, value.Index, value.Index + value.Length);
            }
        }

        if (span.IndexOfAny(':', '=') < 0)
        {
            return;
        }

        foreach (var match in KeyAssignmentNear.Matches(text))
        {
            var value = match.Groups["value"];
            var length = value.Length;
            // A quoted value with blanks is a passphrase after a password key; after "token" or "secret" it is as
            // likely prose ("token": "Hello world, how are you"), so there only what an unquoted value would be counts.
            if (!match.Groups["password"].Success && HasWhiteSpace(value.ValueSpan))
            {
                length = UnquotedLength(value.ValueSpan);
            }

            if (length >= 8 && LooksLikeSecret(value.ValueSpan[..length]))
            {
                found.TryAdd(PiiEntityTypes.ApiKey, value.Index, value.Index + length);
            }
        }
    }

    private static bool HasWhiteSpace(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }

    // Up to the first char that ends an unquoted value (\s, a quote, ',' or ';').
    private static int UnquotedLength(ReadOnlySpan<char> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsWhiteSpace(value[i]) || value[i] is '"' or '\'' or ',' or ';')
            {
                return i;
            }
        }

        return value.Length;
    }

    /// <summary>Three base64url parts whose first decodes to a JSON object (the JOSE header).</summary>
    internal static bool IsJwt(ReadOnlySpan<char> candidate)
    {
        var dot = candidate.IndexOf('.');
        var header = Base64Text.TryDecode(candidate[..dot]);
        if (header is null)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(header);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // "password: changeme" and "token = your_token_here" are prose and placeholders; real secrets mix digits with
    // letters or cases, or are long.
    // Bracketed values ("<Organization>", "{api_key}", "${TOKEN}") are template placeholders.
    internal static bool LooksLikeSecret(ReadOnlySpan<char> value)
    {
        if (!value.ContainsAnyExcept(value[0]) || value is ['<', .., '>'] or ['{', .., '}'] or ['$', '{', .., '}'])
        {
            return false;
        }

        var hasDigit = value.IndexOfAnyInRange('0', '9') >= 0;
        var hasLower = value.IndexOfAnyInRange('a', 'z') >= 0;
        var hasUpper = value.IndexOfAnyInRange('A', 'Z') >= 0;
        return (hasDigit && (hasLower || hasUpper)) || (hasLower && hasUpper) || value.Length >= 20;
    }
}
