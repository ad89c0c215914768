using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class DriverLicenseTests
{
    private static string[] Found(string text, string type) =>
        [.. PiiDetector.Default.Detect(text).Where(e => e.EntityType == type).Select(e => text[e.Span.Start..e.Span.End])];

    [Theory]
    [InlineData("My driver's license number is 6940579", "6940579")]
    [InlineData("my driver's license number is 2270-66-1551", "2270-66-1551")]
    [InlineData("Driver’s licence: D1234567 (California)", "D1234567")]
    [InlineData("Her driving licence number is 123456789 and it expires next year.", "123456789")]
    [InlineData("DL# S530-4602-9351 issued in Illinois", "S530-4602-9351")]
    [InlineData("License number: 12AB34567, class C", "12AB34567")]
    [InlineData("Lic. No. A-1234567 was suspended", "A-1234567")]
    [InlineData("Licence no. 987654321X", "987654321X")]
    public void Finds_licence_numbers_in_state_formats_after_a_licence_cue(string text, string number)
    {
        Assert.Equal([number], Found(text, PiiEntityTypes.UsDriverLicense));
    }

    [Theory]
    [InlineData("Order 6940579 ships tomorrow.")]
    [InlineData("The license plate was 7ABC123 on a blue car.")]
    [InlineData("Your license key is 4471-2209-1187; keep it safe.")]
    [InlineData("We downloaded 1234567 files (dl 1234567).")]
    [InlineData("My driver's license expired in 2019.")]
    [InlineData("My driver's license number is 00000000")]
    [InlineData("Universal Music Group, a record label with license number 545345, signed the band.")]
    public void Ignores_numbers_without_a_licence_cue_and_other_licences(string text)
    {
        Assert.Empty(Found(text, PiiEntityTypes.UsDriverLicense));
    }

    [Fact]
    public void A_number_after_a_licence_cue_is_the_licence_not_an_ssn()
    {
        const string Text = "SSN 536-22-1234, driver's license 536-22-4567";
        var found = PiiDetector.Default.Detect(Text).Select(e => (e.EntityType, Text[e.Span.Start..e.Span.End])).ToArray();
        Assert.Equal([(PiiEntityTypes.UsSsn, "536-22-1234"), (PiiEntityTypes.UsDriverLicense, "536-22-4567")], found);
    }

    [Fact]
    public void Finds_a_licence_number_behind_full_width_digits_and_zero_width_characters()
    {
        const string Text = "driver's license number is ６９４０\u200B５７９";
        var found = Assert.Single(PiiDetector.Default.Detect(Text));
        Assert.Equal(PiiEntityTypes.UsDriverLicense, found.EntityType);
        Assert.Equal(Text.IndexOf('６', StringComparison.Ordinal), found.Span.Start);
        Assert.Equal(Text.Length, found.Span.End);
    }
}
