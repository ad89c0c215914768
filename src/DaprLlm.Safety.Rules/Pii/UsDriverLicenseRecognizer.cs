using System.Buffers;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// US_DRIVER_LICENSE: the state formats (one or two letters and digits, digits alone, either in dash/space groups,
/// digits with letters inside or after them; 5–16 digits in all) taken only right after a licence cue ("driver's license", "DL",
/// "licence number"), like Presidio's context words. The formats alone are any order or account number, so without
/// the cue nothing is reported.
/// </summary>
internal static partial class UsDriverLicenseRecognizer
{
    // Words every cue of the pattern contains: without one the pattern does not run.
    private static readonly SearchValues<string> CueWords = SearchValues.Create(["licen", "DL", "driving", "driver", "lic#", "lic."], StringComparison.OrdinalIgnoreCase);

    // The cue ("driver" for the ones that name a driving licence), then up to 30 characters on the same line that are not digits ("number is", "#:", "(CA) is"), then the
    // number. "license plate", "license key" and similar are other licences.
    // The letters of a number are upper case and the DL abbreviation too ("dl" is also a download or a decilitre).
    [GeneratedRegex(@"(?:(?<driver>\b(?:driver['’]?s?|driving|drivers['’])[ \t]+licen[cs]e|(?-i:\bDL\b|\bD\.L\.))|\blicen[cs]e[ \t]+(?:number|no\.?|num|#)|\blic(?:\.|\b)[ \t]*(?:#|no\.?))(?![ \t]+(?:plate|key|fee|class|agreement|server))[^\d\n.?!]{0,30}?(?<![\w\-])(?<id>(?-i:[A-Z]{1,2}-?\d{2,9}(?:[\- ]\d{2,9}){0,3}|\d{2,9}(?:[\- ]\d{2,9}){0,3}|\d{1,3}[A-Z]{2,3}\d{4,6}|\d{7,9}[A-Z]{1,2}))(?![\w\-]|[.,]\d)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 200)]
    private static partial Regex CuedNumber();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        if (text.AsSpan().IndexOfAny(CueWords) < 0)
        {
            return;
        }

        try
        {
            for (var match = CuedNumber().Match(text); match.Success; match = match.NextMatch())
            {
                var id = match.Groups["id"];
                if (IsPlausible(id.ValueSpan, match.Groups["driver"].Success))
                {
                    found.TryAdd(PiiEntityTypes.UsDriverLicense, id.Index, id.Index + id.Length);
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // An adversarial text loses this detector, not the service's latency bound.
        }
    }

    // 5 to 16 digits (the shortest state numbers are 5 digits after a letter or plain), at most three letters, and
    // not one digit repeated ("00000000" is a placeholder). After a bare "license number", which also precedes the
    // numbers of business and professional licences ("a record label with license number 545345"), a number of
    // digits only needs the 7 to 9 digits most states issue.
    internal static bool IsPlausible(ReadOnlySpan<char> id, bool afterDriverCue)
    {
        var digits = 0;
        var letters = 0;
        var first = '\0';
        var allSame = true;
        foreach (var c in id)
        {
            if (char.IsAsciiDigit(c))
            {
                first = first == '\0' ? c : first;
                allSame &= c == first;
                digits++;
            }
            else if (char.IsAsciiLetter(c))
            {
                letters++;
            }
        }

        return digits is >= 5 and <= 16 && letters <= 3 && !allSame && (afterDriverCue || letters > 0 || digits >= 7);
    }
}
