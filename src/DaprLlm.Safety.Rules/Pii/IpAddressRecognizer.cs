using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>IP_ADDRESS: dotted IPv4 with octets 0–255, and IPv6 in any form <see cref="IPAddress"/> parses.</summary>
internal static partial class IpAddressRecognizer
{
    // [0-9], not \d: \d also takes Arabic-Indic, Persian and Devanagari digits ("١.١.١.١"), which no address parser
    // reads as an address, and which the octet check below would have to parse.
    [GeneratedRegex(@"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?!\w|\.[0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex V4Candidate();

    // Groups of up to four hex digits joined by colons ("::" allowed), optionally ending in an embedded IPv4.
    [GeneratedRegex(@"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|(?=::))(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex V6Candidate();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        // IPv6 first, so "::ffff:192.0.2.1" is one address and not an IPv4 inside noise. A v6 candidate has two
        // colons with at most four hex digits between them: without such a pair the (per hex letter) v6 scan is skipped.
        var v6 = V6Candidate().EnumerateMatches(HasColonPair(text) ? text : string.Empty);
        foreach (var match in v6)
        {
            if (IsValidV6(text.AsSpan(match.Index, match.Length)))
            {
                found.TryAdd(PiiEntityTypes.IpAddress, match.Index, match.Index + match.Length);
            }
        }

        foreach (var match in V4Candidate().EnumerateMatches(text))
        {
            if (IsValidV4(text.AsSpan(match.Index, match.Length)))
            {
                found.TryAdd(PiiEntityTypes.IpAddress, match.Index, match.Index + match.Length);
            }
        }
    }

    /// <summary>
    /// Whether the text has ':', up to four ASCII hex digits, ':' — what the v6 pattern's <c>(?::hex{0,4}){2,7}</c>
    /// cannot match without. Prose with colons ("Note: ...", "12:30") rarely has such a pair.
    /// </summary>
    internal static bool HasColonPair(ReadOnlySpan<char> text)
    {
        var colon = text.IndexOf(':');
        while (colon >= 0)
        {
            var rest = text[(colon + 1)..];
            var hex = rest.IndexOfAnyExcept(HexDigits);
            if (hex < 0)
            {
                return false; // only hex digits after the last colon
            }

            if (hex <= 4 && rest[hex] == ':')
            {
                return true;
            }

            var next = rest.IndexOf(':');
            colon = next < 0 ? -1 : colon + 1 + next;
        }

        return false;
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789ABCDEFabcdef");

    internal static bool IsValidV4(ReadOnlySpan<char> candidate)
    {
        var octets = 0;
        while (!candidate.IsEmpty)
        {
            var dot = candidate.IndexOf('.');
            var octet = dot < 0 ? candidate : candidate[..dot];
            // A leading zero ("010") reads as octal in some parsers: such strings are version numbers, not addresses.
            // Read digit by digit: a char that is not an ASCII digit makes the candidate invalid instead of throwing.
            if (octet.IsEmpty || octet.Length > 3 || (octet.Length > 1 && octet[0] == '0') || OctetValue(octet) > 255)
            {
                return false;
            }

            octets++;
            candidate = dot < 0 ? ReadOnlySpan<char>.Empty : candidate[(dot + 1)..];
        }

        return octets == 4;
    }

    // int.MaxValue (never a valid octet) when a char is not an ASCII digit; at most three chars, so no overflow.
    private static int OctetValue(ReadOnlySpan<char> octet)
    {
        var value = 0;
        foreach (var c in octet)
        {
            if (!char.IsAsciiDigit(c))
            {
                return int.MaxValue;
            }

            value = (value * 10) + (c - '0');
        }

        return value;
    }

    internal static bool IsValidV6(ReadOnlySpan<char> candidate) =>
        candidate.ContainsAnyExcept(':')
        && IPAddress.TryParse(candidate, out var address)
        && address.AddressFamily == AddressFamily.InterNetworkV6;
}
