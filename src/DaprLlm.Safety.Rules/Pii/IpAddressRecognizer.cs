using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>IP_ADDRESS: dotted IPv4 with octets 0–255, and IPv6 in any form <see cref="IPAddress"/> parses.</summary>
internal static partial class IpAddressRecognizer
{
    [GeneratedRegex(@"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)", RegexOptions.CultureInvariant)]
    private static partial Regex V4Candidate();

    // Groups of up to four hex digits joined by colons ("::" allowed), optionally ending in an embedded IPv4.
    [GeneratedRegex(@"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|(?=::))(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex V6Candidate();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        // IPv6 first, so "::ffff:192.0.2.1" is one address and not an IPv4 inside noise. A v6 candidate has at
        // least two colons, a v4 one three dots: without them the (per hex letter) v6 scan is skipped.
        var v6 = V6Candidate().EnumerateMatches(text.AsSpan().Count(':') >= 2 ? text : string.Empty);
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

    internal static bool IsValidV4(ReadOnlySpan<char> candidate)
    {
        var octets = 0;
        while (!candidate.IsEmpty)
        {
            var dot = candidate.IndexOf('.');
            var octet = dot < 0 ? candidate : candidate[..dot];
            // A leading zero ("010") reads as octal in some parsers: such strings are version numbers, not addresses.
            if (octet.IsEmpty || octet.Length > 3 || (octet.Length > 1 && octet[0] == '0')
                || int.Parse(octet, provider: System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }

            octets++;
            candidate = dot < 0 ? ReadOnlySpan<char>.Empty : candidate[(dot + 1)..];
        }

        return octets == 4;
    }

    internal static bool IsValidV6(ReadOnlySpan<char> candidate) =>
        candidate.ContainsAnyExcept(':')
        && IPAddress.TryParse(candidate, out var address)
        && address.AddressFamily == AddressFamily.InterNetworkV6;
}
