using Microsoft.Playwright;

namespace DaprLlm.Review.Tests.Ui;

/// <summary>One reviewer's browser context and page; collects console errors so every test can assert there were none.</summary>
public sealed class ReviewerSession : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly string _baseAddress;
    private readonly List<string> _errors = [];

    private ReviewerSession(IBrowserContext context, IPage page, string baseAddress)
    {
        _context = context;
        Page = page;
        _baseAddress = baseAddress;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add($"console: {message.Text}");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add($"page error: {error}");
            }
        };
    }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToList();
            }
        }
    }

    public static async Task<ReviewerSession> OpenAsync(IBrowser browser, string baseAddress)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        return new ReviewerSession(context, page, baseAddress);
    }

    public async Task SignInAsync(string user, string password)
    {
        await Page.GotoAsync("/review/login");
        await Page.FillAsync("#username", user);
        await Page.FillAsync("#password", password);
        await Page.ClickAsync("#sign-in");
        await WaitForInteractiveAsync("queue");
    }

    /// <summary>Opens a page and waits until its Blazor circuit is connected (clicks before that are lost).</summary>
    public async Task GotoAsync(string path, string page)
    {
        await Page.GotoAsync(path);
        await WaitForInteractiveAsync(page);
    }

    public Task WaitForInteractiveAsync(string page) =>
        Page.WaitForSelectorAsync($"#review-page[data-page='{page}'][data-interactive='true']");

    /// <summary>Saves the page under screenshots/ and attaches it to the test's result (test runners show or keep attachments).</summary>
    public async Task ScreenshotAsync(string name)
    {
        var png = await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, name + ".png"), FullPage = true });
        TestContext.Current.AddAttachment(name + ".png", png, "image/png");
    }

    public void AssertNoConsoleErrors() => Assert.True(Errors.Count == 0, string.Join(Environment.NewLine, Errors));

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
