using System.Text;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Finds structured PII and credentials, validated by checksum, length tables and numbering rules rather than
/// shape alone, and masks them with typed placeholders. Spans are offsets into the original text.
/// </summary>
/// <remarks>
/// Runs on the NFKC view without invisible characters, so full-width digits and zero-width characters slipped
/// into a number do not hide it. Person names and street addresses come from heuristic recognizers (word lists,
/// address patterns), run after the validated ones.
/// </remarks>
public sealed class PiiDetector
{
    private readonly TextNormalizer _normalizer;

    public PiiDetector(TextNormalizer? normalizer = null) => _normalizer = normalizer ?? TextNormalizer.Light;

    /// <summary>The detector every app shares; it holds no per-request state.</summary>
    public static PiiDetector Default { get; } = new();

    /// <summary>The normalizer whose output <see cref="Detect(NormalizedText)"/> expects.</summary>
    public TextNormalizer Normalizer => _normalizer;

    // Spans are common, so the view's offset map is built with it rather than on demand.
    public IReadOnlyList<PiiEntity> Detect(string text) => Detect(_normalizer.Normalize(text, trackOffsets: true));

    public IReadOnlyList<PiiEntity> Detect(NormalizedText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new PiiSpanCollector(text.Text);
        // Most specific first: a span claimed by one recognizer is not offered to the next, so a JWT is not also
        // a bearer token and a card number is not also a phone number.
        // Cheap triggers first: every structured entity below contains a digit (emails an '@'), so most prose
        // skips their regexes entirely. The triggers are necessary conditions, so they change no result.
        var chars = text.Text.AsSpan();
        var hasDigit = found.HasDigit;
        SecretRecognizer.Find(found);
        if (chars.Contains('@'))
        {
            EmailRecognizer.Find(found);
        }

        if (hasDigit)
        {
            IbanRecognizer.Find(found);
            CreditCardRecognizer.Find(found);
            // Before SSN and phone: a number right after "driver's license" is the licence, whatever its shape.
            UsDriverLicenseRecognizer.Find(found);
            UsSsnRecognizer.Find(found);
        }

        if (hasDigit || chars.Contains(':'))
        {
            IpAddressRecognizer.Find(found);
        }

        if (hasDigit)
        {
            PhoneNumberRecognizer.Find(found);
        }

        // Heuristic recognizers last: validated entities inside an address or next to a name keep their own type.
        StreetAddressRecognizer.Find(found);
        PersonNameRecognizer.Find(found);
        return found.ToOriginal(text);
    }

    /// <summary>The text with every detected entity replaced by <c>&lt;ENTITY_TYPE&gt;</c>; everything else unchanged.</summary>
    public string Mask(string text) => Mask(text, Detect(text));

    /// <summary>Replaces the given spans (original offsets) with typed placeholders; overlapping spans are skipped.</summary>
    public static string Mask(string text, IReadOnlyList<PiiEntity> entities)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(entities);
        if (entities.Count == 0)
        {
            return text;
        }

        var ordered = entities.OrderBy(e => e.Span.Start).ToArray();
        var builder = new StringBuilder(text.Length);
        var position = 0;
        foreach (var entity in ordered)
        {
            if (entity.Span.Start < position || entity.Span.End > text.Length)
            {
                continue;
            }

            builder.Append(text, position, entity.Span.Start - position).Append('<').Append(entity.EntityType).Append('>');
            position = entity.Span.End;
        }

        return builder.Append(text, position, text.Length - position).ToString();
    }
}
