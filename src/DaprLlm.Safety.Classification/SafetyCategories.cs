namespace DaprLlm.Safety.Classification;

/// <summary>Category names: OpenAI's moderation categories plus our jailbreak / prompt-injection category.</summary>
public static class SafetyCategories
{
    public const string Sexual = "sexual";
    public const string SexualMinors = "sexual/minors";
    public const string Hate = "hate";
    public const string HateThreatening = "hate/threatening";
    public const string Harassment = "harassment";
    public const string HarassmentThreatening = "harassment/threatening";
    public const string SelfHarm = "self-harm";
    public const string SelfHarmIntent = "self-harm/intent";
    public const string SelfHarmInstructions = "self-harm/instructions";
    public const string Violence = "violence";
    public const string ViolenceGraphic = "violence/graphic";
    public const string Illicit = "illicit";
    public const string IllicitViolent = "illicit/violent";
    public const string Jailbreak = "jailbreak";

    /// <summary>Every category in the order results list them.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Sexual, SexualMinors, Hate, HateThreatening, Harassment, HarassmentThreatening, SelfHarm, SelfHarmIntent,
        SelfHarmInstructions, Violence, ViolenceGraphic, Illicit, IllicitViolent, Jailbreak,
    ];

    /// <summary>Categories that only make sense for prompts: a model's answer is not an injection attempt.</summary>
    public static bool AppliesToOutput(string category) => category != Jailbreak;

    /// <summary>The OpenAI moderation evaluation set's label keys and the category each one scores.</summary>
    public static IReadOnlyDictionary<string, string> OpenAiLabelKeys { get; } = new Dictionary<string, string>
    {
        ["S"] = Sexual,
        ["H"] = Hate,
        ["V"] = Violence,
        ["HR"] = Harassment,
        ["SH"] = SelfHarm,
        ["S3"] = SexualMinors,
        ["H2"] = HateThreatening,
        ["V2"] = ViolenceGraphic,
    };
}
