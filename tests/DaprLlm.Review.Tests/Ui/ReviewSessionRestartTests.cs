using System.Net;
using System.Text.RegularExpressions;
using DaprLlm.Review.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Ui;

/// <summary>A reviewer's sign-in cookie outlives the app: the key ring that signs it is kept in the configured folder.</summary>
public sealed partial class ReviewSessionRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_session_signed_in_before_an_app_restart_is_still_signed_in_after_it()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(10));
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(host.App.BaseAddress),
        };
        await SignInAsync(http, "alice", "dev-alice-pass");
        using (var before = await http.GetAsync("/review", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Assert.NotEmpty(Directory.GetFiles(host.App.KeyRingDirectory, "key-*.xml"));

        await host.RestartAppAsync();

        // Not sent back to the sign-in page: the new process reads the cookie with the kept key.
        using var after = await http.GetAsync("/review", Ct);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    /// <summary>Posts the sign-in form as a browser does (with its antiforgery token); the cookie lands in the client's container.</summary>
    private static async Task SignInAsync(HttpClient http, string user, string password)
    {
        var form = await http.GetStringAsync("/review/login", Ct);
        var fields = HiddenInput().Matches(form).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        fields["Input.UserName"] = user;
        fields["Input.Password"] = password;
        using var response = await http.PostAsync("/review/login", new FormUrlEncodedContent(fields), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"sign-in answered {(int)response.StatusCode}");
        Assert.Equal("/review", response.Headers.Location is { } to ? (to.IsAbsoluteUri ? to.AbsolutePath : to.OriginalString) : null);
    }

    [GeneratedRegex("""<input type="hidden" name="(?<name>[^"]+)" value="(?<value>[^"]*)" ?/?>""")]
    private static partial Regex HiddenInput();
}
