using DaprLlm.Review.Tests.Infrastructure;
using Microsoft.Playwright;

namespace DaprLlm.Review.Tests.Ui;

/// <summary>
/// One safety app + sidecar + Redis and one headless Debian chromium for the UI test class. Extra reviewer
/// accounts give each test its own tenant, so no test sees another's items.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium by default; DAPRLLM_CHROMIUM points elsewhere (GitHub's Ubuntu runners ship google-chrome).</summary>
    public static string Chromium { get; } = Environment.GetEnvironmentVariable("DAPRLLM_CHROMIUM") is { Length: > 0 } path
        ? path
        : "/usr/bin/chromium";

    /// <summary>Accounts added to the Development ones (alice, bob, sam, ada): name, password, role, tenants.</summary>
    public static readonly (string Name, string Password, string Role, string[] Tenants)[] TestAccounts =
    [
        ("claim1", "claim1-pass", "reviewer", ["t-claim"]),
        ("claim2", "claim2-pass", "reviewer", ["t-claim"]),
        ("kira", "kira-pass", "reviewer", ["t-keys"]),
        ("rhea", "rhea-pass", "reviewer", ["t-reveal"]),
        ("liv", "liv-pass", "reviewer", ["t-live"]),
        ("iso", "iso-pass", "reviewer", ["t-iso-a"]),
        ("asg", "asg-pass", "reviewer", ["t-unassigned"]),
        ("rvk", "rvk-pass", "reviewer", ["t-revoke"]),
        ("out", "out-pass", "reviewer", ["t-outage"]),
        ("scoped", "scoped-pass", "admin", ["t-scope"]),
        ("shot", "shot-pass", "admin", ["*"]),
        ("tab", "tab-pass", "reviewer", ["t-tab"]),
        ("wdr", "wdr-pass", "reviewer", ["t-withdraw"]),
        ("chk", "chk-pass", "reviewer", ["t-check"]),
    ];

    private IPlaywright? _playwright;

    public ReviewHost Host { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public string BaseAddress => Host.App.BaseAddress;

    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: run `apt-get install -y chromium` (.ci/run installs it)");
        }

        var settings = new Dictionary<string, string>();
        // Development seeds 4 accounts (indexes 0-3); these follow them.
        for (var i = 0; i < TestAccounts.Length; i++)
        {
            var (name, password, role, tenants) = TestAccounts[i];
            var prefix = $"Review:Accounts:{i + 4}:";
            settings[prefix + "UserName"] = name;
            settings[prefix + "Password"] = password;
            settings[prefix + "Roles:0"] = role;
            for (var t = 0; t < tenants.Length; t++)
            {
                settings[$"{prefix}Tenants:{t}"] = tenants[t];
            }
        }

        Host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(30), extraSettings: settings);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    /// <summary>A fresh browser context (own cookies) signed in as <paramref name="user"/>, on the queue page.</summary>
    public async Task<ReviewerSession> SignInAsync(string user, string password)
    {
        var session = await ReviewerSession.OpenAsync(Browser, BaseAddress);
        await session.SignInAsync(user, password);
        return session;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}
