using DaprLlm.Cli;
using Spectre.Console;

namespace DaprLlm.EndToEnd.Tests.Infrastructure;

/// <summary>Runs the admin CLI in-process against the running apps and captures what it prints.</summary>
public static class AdminCli
{
    // The development admin key of the local run (components/local/secrets.dev.json and the audit app's
    // appsettings.Development.json; the AppHost runs in Development).
    public const string DevAdminKey = "dev-only-admin-key-change-me";

    public static async Task<(int Exit, string Output)> RunAsync(DaprLlmAppFixture system, params string[] args)
    {
        using var gateway = system.CreateClient("gateway");
        using var safety = system.CreateClient("safety");
        using var audit = system.CreateClient("audit");
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        var exit = await CliApp.RunAsync([.. args,
            "--gateway-url", gateway.BaseAddress!.ToString(), "--safety-url", safety.BaseAddress!.ToString(), "--audit-url", audit.BaseAddress!.ToString(),
            "--admin-key", DevAdminKey], console);
        return (exit, output.ToString());
    }
}
