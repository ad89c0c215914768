using System.CommandLine;
using DaprLlm.Cli.Audit;
using Spectre.Console;

namespace DaprLlm.Cli;

/// <summary>
/// The command tree. Each area adds its commands through one <c>Build</c> method (audit today; API keys and
/// safety policy from the gateway and safety areas next), so the tree grows without touching the others.
/// </summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console)
    {
        var globals = new CliGlobals();
        var root = new RootCommand("daprllm: administer a DaprLlm deployment (audit, compliance; keys and policies to come).");
        root.Options.Add(globals.AuditUrl);
        root.Options.Add(globals.AdminKey);
        root.Subcommands.Add(AuditCommands.Build(globals, console));
        root.Subcommands.Add(SubjectCommands.Build(globals, console));
        root.Subcommands.Add(ReportCommands.Build(globals, console));
        root.Subcommands.Add(RetentionCommands.Build(globals, console));
        var parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration { Output = new ConsoleWriter(console), Error = new ConsoleWriter(console) });
    }

    /// <summary>Forwards System.CommandLine's help and error text to the Spectre console (so tests can capture it).</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => console.Profile.Out.Writer.Write(value);

        public override void Write(string? value) => console.Profile.Out.Writer.Write(value);
    }
}

/// <summary>Options every command shares: where the audit app is and the admin key (flags or environment).</summary>
public sealed class CliGlobals
{
    public Option<string> AuditUrl { get; } = new("--audit-url")
    {
        Description = "Base address of the audit app (env DAPRLLM_AUDIT_URL).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_AUDIT_URL") ?? "http://localhost:5083",
    };

    public Option<string> AdminKey { get; } = new("--admin-key")
    {
        Description = "Admin API key (env DAPRLLM_ADMIN_KEY).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAPRLLM_ADMIN_KEY") ?? "",
    };

    public AdminClient Client(ParseResult parse) => new(parse.GetValue(AuditUrl)!, parse.GetValue(AdminKey)!);
}
