using System.CommandLine;
using DaprLlm.Cli.Audit;
using DaprLlm.Cli.Gateway;
using DaprLlm.Cli.Safety;
using Spectre.Console;

namespace DaprLlm.Cli;

/// <summary>
/// The command tree. Each area adds its commands through one <c>Build</c> method (gateway: tenants and API keys;
/// safety: policies; audit: trail, subjects, reports, retention, alerts), so the tree grows without touching the others.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code of a command line that does not parse or a confirmation a script cannot give (sysexits' EX_USAGE).</summary>
    public const int UsageError = 64;

    /// <param name="console">Where results go (stdout).</param>
    /// <param name="errors">Where errors, parse errors and the help shown with them go (stderr), so a script that pipes
    /// the results into jq or a file never reads an error as data; the same console as results when not given.</param>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, IAnsiConsole? errors = null)
    {
        var globals = new CliGlobals { Errors = errors ?? console };
        var root = new RootCommand("daprllm: administer a DaprLlm deployment (API keys, safety policies, audit and compliance, alerts).\n"
            + "Exit codes: 0 done; 1 audit verify found tampering (or a prompt was declined); 2 the app failed, answered an error "
            + "or could not be reached; 3 the key was refused (401/403); 64 usage error (the command line does not parse or names unreadable input, or --yes is needed).");
        foreach (var option in globals.All)
        {
            root.Options.Add(option);
        }

        root.Subcommands.Add(TenantCommands.Build(globals, console));
        root.Subcommands.Add(KeyCommands.Build(globals, console));
        root.Subcommands.Add(PolicyCommands.Build(globals, console));
        root.Subcommands.Add(AlertCommands.Build(globals, console));
        root.Subcommands.Add(AuditCommands.Build(globals, console));
        root.Subcommands.Add(SubjectCommands.Build(globals, console));
        root.Subcommands.Add(ReportCommands.Build(globals, console));
        root.Subcommands.Add(RetentionCommands.Build(globals, console));
        var parse = root.Parse(args);
        try
        {
            var exit = await parse.InvokeAsync(new InvocationConfiguration
            {
                // The help shown with a parse error is part of the error; asked for (--help), it is the result.
                Output = new ConsoleWriter(parse.Errors.Count > 0 ? globals.Errors : console), Error = new ConsoleWriter(globals.Errors),
                EnableDefaultExceptionHandler = false,
            });
            // System.CommandLine answers a parse error (after printing it and the help) with 1, which is audit verify's
            // "tampering found": a script must be able to tell a typo from a tampered trail.
            return parse.Errors.Count > 0 ? UsageError : exit;
        }
        catch (Exception e) when (IsOperatorError(e))
        {
            // What an operator can fix (an address, a path, a file, a slow app) is one line, not a stack trace.
            globals.Errors.MarkupLineInterpolated($"[red]error[/]: {Describe(e)}");
            return 2;
        }
    }

    private static bool IsOperatorError(Exception e) =>
        e is UriFormatException or NotSupportedException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException
            or TaskCanceledException or System.Security.SecurityException or FormatException or KeyNotFoundException or InvalidOperationException;

    private static string Describe(Exception e) => e switch
    {
        UriFormatException or NotSupportedException => $"{e.Message} (an app address looks like http://localhost:5083)",
        TaskCanceledException => "the app did not answer in time",
        System.Text.Json.JsonException => $"the app answered something that is not the JSON expected: {e.Message}",
        KeyNotFoundException or InvalidOperationException => $"the app's answer does not have the shape this CLI expects (is it the right app and version?): {e.Message}",
        _ => e.Message,
    };

    /// <summary>Forwards System.CommandLine's help and error text to the Spectre console (so tests can capture it).</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => console.Profile.Out.Writer.Write(value);

        public override void Write(string? value) => console.Profile.Out.Writer.Write(value);
    }
}

/// <summary>Options every command shares: where each app is and its admin key (flags or environment).</summary>
public sealed class CliGlobals
{
    public Option<string> GatewayUrl { get; } = new("--gateway-url")
    {
        Description = "Base address of the gateway (env DAPRLLM_GATEWAY_URL).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_GATEWAY_URL") ?? "http://localhost:5080",
    };

    public Option<string> GatewayAdminKey { get; } = new("--gateway-admin-key")
    {
        Description = "The gateway's admin key (env DAPRLLM_GATEWAY_ADMIN_KEY; default: the local development key).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_GATEWAY_ADMIN_KEY") ?? "dev-only-admin-key-change-me",
    };

    public Option<string> SafetyUrl { get; } = new("--safety-url")
    {
        Description = "Base address of the safety app (env DAPRLLM_SAFETY_URL).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_SAFETY_URL") ?? "http://localhost:5082",
    };

    public Option<string> SafetyAdminKey { get; } = new("--safety-admin-key")
    {
        Description = "The safety app's policy admin key (env DAPRLLM_SAFETY_ADMIN_KEY; default: the local development key).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_SAFETY_ADMIN_KEY") ?? "dev-only-safety-admin-key-change-me",
    };

    public Option<string> AuditUrl { get; } = new("--audit-url")
    {
        Description = "Base address of the audit app (env DAPRLLM_AUDIT_URL).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_AUDIT_URL") ?? "http://localhost:5083",
    };

    public Option<string> AdminKey { get; } = new("--admin-key")
    {
        Description = "The audit app's admin API key (env DAPRLLM_ADMIN_KEY).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_ADMIN_KEY") ?? "",
    };

    /// <summary>The console for errors (stderr when run from a shell).</summary>
    public required IAnsiConsole Errors { get; init; }

    public IEnumerable<Option> All => [AuditUrl, AdminKey, GatewayUrl, GatewayAdminKey, SafetyUrl, SafetyAdminKey];

    /// <summary>The audit app's admin API (X-Admin-Key).</summary>
    public AdminClient Client(ParseResult parse) => new(parse.GetValue(AuditUrl)!, parse.GetValue(AdminKey)!);

    public AdminClient Gateway(ParseResult parse) => new(parse.GetValue(GatewayUrl)!, parse.GetValue(GatewayAdminKey)!, bearer: true);

    public AdminClient Safety(ParseResult parse) => new(parse.GetValue(SafetyUrl)!, parse.GetValue(SafetyAdminKey)!, bearer: true);
}
