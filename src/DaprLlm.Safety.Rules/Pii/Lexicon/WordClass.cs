namespace DaprLlm.Safety.Rules;

/// <summary>Which of the name lexicon's lists a word is on; one lookup answers them all.</summary>
[Flags]
internal enum WordClass : byte
{
    None = 0,
    Common = 1,
    Place = 2,
    Name = 4,
    Stop = 8,
    Title = 16,
}
