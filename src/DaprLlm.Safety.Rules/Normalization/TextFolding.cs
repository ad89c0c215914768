namespace DaprLlm.Safety.Rules;

/// <summary>Foldings a <see cref="TextNormalizer"/> applies on top of NFKC and format-character removal.</summary>
[Flags]
public enum TextFolding
{
    None = 0,
    CaseFold = 1,
    StripDiacritics = 2,
    Confusables = 4,
    Leetspeak = 8,
    CollapseWhitespace = 16,
    All = CaseFold | StripDiacritics | Confusables | Leetspeak | CollapseWhitespace,
}
