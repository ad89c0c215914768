namespace DaprLlm.Safety.Rules;

/// <summary>Maps the common Cyrillic and Greek look-alikes of Latin letters to those letters.</summary>
internal static class ConfusableFolding
{
    // A hand-picked subset of Unicode's confusables.txt: the letters that render identically to Latin in common
    // fonts and are used to dodge word filters ("bоmb" with a Cyrillic о). Folding all of confusables.txt would
    // also fold legitimate Greek and Cyrillic words into nonsense.
    public static char ToLatin(char c) => c switch
    {
        // Cyrillic capitals
        'А' => 'A', 'В' => 'B', 'Е' => 'E', 'К' => 'K', 'М' => 'M', 'Н' => 'H', 'О' => 'O', 'Р' => 'P',
        'С' => 'C', 'Т' => 'T', 'У' => 'Y', 'Х' => 'X', 'Ѕ' => 'S', 'І' => 'I', 'Ј' => 'J',
        // Cyrillic small letters
        'а' => 'a', 'е' => 'e', 'о' => 'o', 'р' => 'p', 'с' => 'c', 'у' => 'y', 'х' => 'x', 'ѕ' => 's',
        'і' => 'i', 'ј' => 'j', 'һ' => 'h', 'ԁ' => 'd', 'ԛ' => 'q', 'ԝ' => 'w', 'к' => 'k', 'м' => 'm',
        'т' => 't', 'ь' => 'b', 'ӏ' => 'l',
        // Greek capitals
        'Α' => 'A', 'Β' => 'B', 'Ε' => 'E', 'Ζ' => 'Z', 'Η' => 'H', 'Ι' => 'I', 'Κ' => 'K', 'Μ' => 'M',
        'Ν' => 'N', 'Ο' => 'O', 'Ρ' => 'P', 'Τ' => 'T', 'Υ' => 'Y', 'Χ' => 'X',
        // Greek small letters
        'α' => 'a', 'ε' => 'e', 'ι' => 'i', 'κ' => 'k', 'ν' => 'v', 'ο' => 'o', 'ρ' => 'p', 'τ' => 't',
        'υ' => 'u', 'χ' => 'x', 'γ' => 'y', 'ω' => 'w',
        _ => c,
    };
}
