using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class PersonAndAddressTests
{
    private static string[] Found(string text, string type) =>
        [.. PiiDetector.Default.Detect(text).Where(e => e.EntityType == type).Select(e => text[e.Span.Start..e.Span.End])];

    [Theory]
    [InlineData("My name is Aantje Mourik and I lost my card.", "Aantje Mourik")]
    [InlineData("Please change it to Ms. Lauren Shishani today.", "Lauren Shishani")]
    [InlineData("Yesterday Csanád P Gere called the office.", "Csanád P Gere")]
    [InlineData("Send the forms to Kamila Červinková, please.", "Kamila Červinková")]
    [InlineData("hi, my name is bertram and I need help", "bertram")]
    public void Finds_person_names_in_any_script_with_initials_and_after_cues(string text, string name)
    {
        Assert.Equal([name], Found(text, PiiEntityTypes.Person));
    }

    [Theory]
    [InlineData("What's the weather like in Paris on Monday?")]
    [InlineData("The Quick Brown Fox jumps over the Lazy Dog.")]
    [InlineData("Please send the IBAN and the SSN by Friday.")]
    [InlineData("She flew from Estonia to Norway in June.")]
    [InlineData("Here's what You're looking for.")]
    public void Ignores_capitalised_common_words_places_acronyms_and_contractions(string text)
    {
        Assert.Empty(Found(text, PiiEntityTypes.Person));
    }

    [Theory]
    [InlineData("Ship it to 3968 Bay Street by tomorrow.", "3968 Bay Street")]
    [InlineData("The bus station is on Pod Floriánem 1677", "Pod Floriánem 1677")]
    [InlineData("We met at the café on Praça do Comércio 12 at noon", "Praça do Comércio 12")] // a non-ASCII street prefix
    [InlineData("“Quotes” first, then the flat at NÁMĚSTÍ Míru 5", "NÁMĚSTÍ Míru 5")] // in capitals, after other non-ASCII text
    [InlineData("Trivo lives on Grössgstötten 50 street.", "Grössgstötten 50")]
    [InlineData("The restaurant is located at USNS Saibara\nFPO AP 12428. It serves food.", "USNS Saibara\nFPO AP 12428")]
    [InlineData("Send it to 22 Pollen Crescent\n Apt. 446\n Hibberdene\n South Africa 68793", "22 Pollen Crescent\n Apt. 446\n Hibberdene\n South Africa 68793")]
    public void Finds_street_addresses_with_their_apartment_city_and_postcode_lines(string text, string address)
    {
        Assert.Contains(address, Found(text, PiiEntityTypes.StreetAddress));
    }

    [Theory]
    [InlineData("During 1971 the band toured Europe.")]
    [InlineData("We have 42 apples and 3 pears in room 101.")]
    [InlineData("Chapter 12 explains version 2 of the protocol.")]
    public void Ignores_years_counts_and_numbered_things_that_are_not_addresses(string text)
    {
        Assert.Empty(Found(text, PiiEntityTypes.StreetAddress));
    }

    [Fact]
    public void Validated_entities_inside_an_address_line_keep_their_own_type()
    {
        var entities = PiiDetector.Default.Detect("Call +1 415 555 0100 or write to 3968 Bay Street");

        Assert.Contains(entities, e => e.EntityType == PiiEntityTypes.PhoneNumber);
        Assert.Contains(entities, e => e.EntityType == PiiEntityTypes.StreetAddress);
    }

    [Theory]
    [InlineData("Compared Care songwriter Zoe Young employs corporate lingo.", "Zoe Young")]
    [InlineData("The name in the account is not correct, please change it to Ivan King", "Ivan King")]
    [InlineData("My name is Martin", "Martin")]
    public void Keeps_gazetteer_names_that_are_also_common_words_next_to_a_name_or_after_a_cue(string text, string name)
    {
        Assert.Contains(name, Found(text, PiiEntityTypes.Person));
    }

    [Theory]
    [InlineData("Verdafero is a design agency based in the north.")]
    [InlineData("Telenav is hiring this year.")]
    public void A_single_unknown_capitalised_word_without_a_cue_is_not_a_person(string text)
    {
        Assert.Empty(Found(text, PiiEntityTypes.Person));
    }

    // The name pattern retried a failing letter run at every split of it: minutes on this text. The name after the
    // run is found only if the scan got past it within the pattern's match timeout.
    [Fact(Timeout = 30_000)]
    public async Task A_long_letter_run_that_is_no_name_costs_linear_time_and_later_names_are_still_found()
    {
        var text = "A" + new string('b', 150_000) + "1 and then Ms. Lauren Shishani called.";

        var names = await Task.Run(() => Found(text, PiiEntityTypes.Person), TestContext.Current.CancellationToken);

        Assert.Equal(["Lauren Shishani"], names);
    }

    [Fact]
    public void A_postal_block_on_its_own_lines_is_reported_as_number_street_unit_and_postcode()
    {
        const string text = "William Hughes\n\n20789 Allika 46\n Suite 501\n Riisa\n\n Estonia 62488";

        Assert.Equal(["20789", "Allika 46", "Suite 501", "62488"], Found(text, PiiEntityTypes.StreetAddress));
    }

    // The postcode pattern split the blank line two ways at every position: minutes on this text. The postcode
    // after it is found only if the search got past the blanks within the pattern's match timeout.
    [Fact(Timeout = 30_000)]
    public async Task A_long_blank_line_in_a_postal_block_costs_linear_time_and_the_postcode_is_still_found()
    {
        var text = "1 Main Street\nSuite 1\n" + new string(' ', 150_000) + "\n Springfield 12345";

        var parts = await Task.Run(() => Found(text, PiiEntityTypes.StreetAddress), TestContext.Current.CancellationToken);

        Assert.Equal(["1", "Main Street", "Suite 1", "12345"], parts);
    }

    [Fact]
    public void The_corner_of_two_streets_is_one_address()
    {
        const string text = "Address:\nthe corner of 74 Sikelianou Street and ten Pas Pass.";

        Assert.Equal(["the corner of 74 Sikelianou Street and ten Pas Pass"], Found(text, PiiEntityTypes.StreetAddress));
    }
}
