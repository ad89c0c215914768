namespace DaprLlm.Safety.Rules;

/// <summary>Entity type names reported by <see cref="PiiDetector"/>; the first six are Presidio's names.</summary>
/// <remarks>
/// Person names and street addresses cannot be validated by shape or checksum: their recognizers are heuristics
/// (word lists and address patterns) with measured precision and recall, not validators.
/// </remarks>
public static class PiiEntityTypes
{
    public const string EmailAddress = "EMAIL_ADDRESS";
    public const string PhoneNumber = "PHONE_NUMBER";
    public const string CreditCard = "CREDIT_CARD";
    public const string IbanCode = "IBAN_CODE";
    public const string UsSsn = "US_SSN";
    public const string IpAddress = "IP_ADDRESS";
    public const string Person = "PERSON";
    public const string StreetAddress = "STREET_ADDRESS";
    public const string UsDriverLicense = "US_DRIVER_LICENSE";

    // Credentials have no Presidio entity; these names are ours.
    public const string AwsAccessKey = "AWS_ACCESS_KEY";
    public const string Jwt = "JWT";
    public const string PrivateKey = "PRIVATE_KEY";
    public const string ApiKey = "API_KEY";
    public const string BearerToken = "BEARER_TOKEN";
}
