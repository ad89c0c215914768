using DaprLlm.Audit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using DaprLlm.Cli;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace DaprLlm.Audit.Tests.Ingestion;

/// <summary>The admin CLI's audit commands against the running audit app (real HTTP, real sidecars).</summary>
public sealed class CliTests(AuditSystem system) : IClassFixture<AuditSystem>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Runs the CLI; Output is what a terminal shows (stdout then stderr).</summary>
    private async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await RunSplitAsync(args);
        return (exit, stdout + stderr);
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunSplitAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args.Contains("--audit-url") ? args : [.. args, "--audit-url", system.App.BaseAddress], CaptureConsole(stdout), CaptureConsole(stderr));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static IAnsiConsole CaptureConsole(StringWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        return console;
    }

    [Fact]
    public async Task Errors_go_to_stderr_so_a_script_piping_the_results_never_reads_an_error_as_data()
    {
        var (exit, stdout, stderr) = await RunSplitAsync("audit", "verify", "--admin-key", "not-the-admin-key-0123456789");
        Assert.Equal(3, exit);
        Assert.Equal("", stdout);
        Assert.Contains("error (401)", stderr, StringComparison.Ordinal);

        (exit, stdout, stderr) = await RunSplitAsync("audit", "verify", "--regoin", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.Equal(CliApp.UsageError, exit);
        Assert.Equal("", stdout);
        Assert.Contains("--regoin", stderr, StringComparison.Ordinal);

        (exit, stdout, stderr) = await RunSplitAsync("--help");
        Assert.Equal(0, exit);
        Assert.Contains("daprllm", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task A_subject_export_written_to_a_file_is_readable_by_its_owner_only()
    {
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..6];
        await PublishAsync(tenant, "cli-file-subject");
        var file = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, output) = await RunAsync("subject", "export", "--tenant", tenant, "--user", "cli-file-subject", "--region", "eu", "--out", file,
                "--admin-key", AuditSystem.AdminKey);
            Assert.True(exit == 0, output);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            Assert.Contains("\"count\": 1", await File.ReadAllTextAsync(file, Ct), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task PublishAsync(string tenant, string user)
    {
        var id = $"{tenant}-{Guid.NewGuid():N}";
        await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.RequestCompleted,
            new RequestCompletedV1(id, "daprllm-demo", RequestCompletedV1.Outcomes.Completed, "stop", 1, 1, "allow", "allow", null, DateTimeOffset.UtcNow,
                TenantId: tenant, UserId: user, Prompt: "hi"), Ct);
        await system.WaitAsync(async () => (await system.StoredRequestIdsAsync("eu")).Contains(id), TimeSpan.FromSeconds(60), "the event to be stored");
    }

    [Fact]
    public async Task Audit_verify_prints_each_region_and_exits_zero_on_an_intact_chain()
    {
        await PublishAsync("eu-corp", "cli-user");
        var (exit, output) = await RunAsync("audit", "verify", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains("eu", output, StringComparison.Ordinal);
        Assert.Contains("us", output, StringComparison.Ordinal);
        Assert.Contains("ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_line_that_does_not_parse_exits_64_so_it_is_never_read_as_tampering()
    {
        // Before, System.CommandLine's parse error exit code (1) was the same as audit verify's "tampered".
        var (exit, output) = await RunAsync("audit", "verify", "--regoin", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == CliApp.UsageError, output);
        Assert.Contains("--regoin", output, StringComparison.Ordinal);
        Assert.DoesNotContain("TAMPERED", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync("report", "--format", "xml", "--admin-key", AuditSystem.ComplianceKey);
        Assert.True(exit == 64, output);

        (exit, output) = await RunAsync("--help");
        Assert.True(exit == 0, output);
        Assert.Contains("1 audit verify found tampering", output, StringComparison.Ordinal);
        Assert.Contains("64 usage error", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subject_export_erase_report_and_retention_commands_work()
    {
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..6];
        await PublishAsync(tenant, "cli-subject");

        var (exit, output) = await RunAsync("subject", "export", "--tenant", tenant, "--user", "cli-subject", "--region", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains("\"count\": 1", output, StringComparison.Ordinal);

        // Without --yes a console that cannot prompt (a script, a pipe) refuses clearly and erases nothing.
        (exit, output) = await RunAsync("subject", "erase", "--tenant", tenant, "--user", "cli-subject", "--region", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == CliApp.UsageError, output);
        Assert.Contains("pass --yes", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync("subject", "export", "--tenant", tenant, "--user", "cli-subject", "--region", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("subject.erased", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync("subject", "erase", "--tenant", tenant, "--user", "cli-subject", "--region", "eu", "--yes", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains("erased", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync("report", "--format", "csv", "--tenant", tenant, "--regions", "eu", "--admin-key", AuditSystem.ComplianceKey);
        Assert.True(exit == 0, output);
        Assert.Contains("requests,,1", output, StringComparison.Ordinal);
        Assert.Contains("erasures,,1", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync("retention", "run", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains("Records archived", output, StringComparison.Ordinal);

        // A region the key may not run (us) does not hide the region it ran (eu): both are shown, the exit says 403.
        (exit, output) = await RunAsync("retention", "run", "--region", "eu,us", "--admin-key", AuditSystem.EuOnlyKey);
        Assert.True(exit == 3, output);
        Assert.Contains("Records archived", output, StringComparison.Ordinal);
        Assert.Contains("may not read region 'us'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_erasure_whose_purge_notice_was_not_sent_fails_and_says_to_run_it_again()
    {
        // The audit app answers 200 when the key is destroyed but subject.erased could not be published.
        var port = Ports.GetFree();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        await using var audit = builder.Build();
        audit.MapPost("/admin/subjects/erase", () => Results.Json(new
        {
            tenantId = "acme", subject = "psn_1", region = "eu", keyDestroyed = true, erasureEventId = "e-1", erasedAtMs = 1, subjectErasedPublished = false,
        }));
        await audit.StartAsync(Ct);

        var (exit, output) = await RunAsync("subject", "erase", "--tenant", "acme", "--user", "u-1", "--region", "eu", "--yes",
            "--admin-key", AuditSystem.AdminKey, "--audit-url", $"http://127.0.0.1:{port}");

        Assert.Equal(2, exit);
        Assert.Contains("run the same erase again", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--audit-url", "10.0.0.5:5083")]
    [InlineData("--audit-url", "audit.local:5083")]
    [InlineData("--out", "/nonexistent-folder/report.json")]
    public async Task An_address_or_path_the_operator_got_wrong_is_one_plain_line_not_a_stack_trace(string option, string value)
    {
        var (exit, output) = await RunAsync("report", "--admin-key", AuditSystem.ComplianceKey, option, value);

        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", output.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_date_that_is_not_a_date_is_named_in_plain_words()
    {
        var (exit, output) = await RunAsync("report", "--from", "2026-13-45", "--admin-key", AuditSystem.ComplianceKey);
        Assert.NotEqual(0, exit);
        Assert.Contains("'2026-13-45' is not a date", output, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Nullable", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_app_is_named_without_a_made_up_status_code()
    {
        var (exit, output) = await RunAsync("audit", "verify", "--admin-key", AuditSystem.AdminKey, "--audit-url", $"http://127.0.0.1:{Ports.GetFree()}");
        Assert.Equal(2, exit);
        Assert.Contains("error: cannot reach", output, StringComparison.Ordinal);
        Assert.DoesNotContain("(0)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_read_with_its_line_ending_works_and_one_with_control_characters_is_one_plain_line()
    {
        var (exit, output) = await RunAsync("audit", "verify", "--admin-key", AuditSystem.AdminKey + "\r\n");
        Assert.True(exit == 0, output);

        var (badExit, badOutput) = await RunAsync("audit", "verify", "--admin-key", "abc\u0007def-0123456789");
        Assert.Equal(2, badExit);
        Assert.Contains("error: the admin key contains control characters", badOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", badOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_answer_of_an_unexpected_shape_is_one_plain_line()
    {
        // Something else answers on the audit port: 200 with JSON that is not a verify result.
        var port = Ports.GetFree();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        await using var other = builder.Build();
        other.MapGet("/admin/verify", () => Results.Json(new { hello = "world" }));
        await other.StartAsync(Ct);

        var (exit, output) = await RunAsync("audit", "verify", "--admin-key", AuditSystem.AdminKey, "--audit-url", $"http://127.0.0.1:{port}");

        Assert.Equal(2, exit);
        Assert.Contains("error: the app's answer does not have the shape this CLI expects", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_fails_with_the_apis_message_and_exit_code_3()
    {
        var (exit, output) = await RunAsync("audit", "verify", "--admin-key", "not-a-valid-key-at-all");
        Assert.Equal(3, exit);
        Assert.Contains("X-Admin-Key", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_verify_names_the_tampered_record_and_exits_one()
    {
        await PublishAsync("eu-corp", "cli-tamper");
        var path = Path.Combine(system.DataDirectory, "audit-eu.db");
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(Ct);
        long seq;
        string content;
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT seq, content FROM records ORDER BY seq LIMIT 1";
            await using var reader = await read.ExecuteReaderAsync(Ct);
            Assert.True(await reader.ReadAsync(Ct));
            (seq, content) = (reader.GetInt64(0), reader.GetString(1));
        }

        async Task SetContentAsync(string value)
        {
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE records SET content = $content WHERE seq = $seq";
            update.Parameters.AddWithValue("$content", value);
            update.Parameters.AddWithValue("$seq", seq);
            Assert.Equal(1, await update.ExecuteNonQueryAsync(Ct));
        }

        await SetContentAsync(content.Replace("}", ",\"tampered\":true}", StringComparison.Ordinal));
        try
        {
            var (exit, output) = await RunAsync("audit", "verify", "--region", "eu", "--admin-key", AuditSystem.AdminKey);
            Assert.True(exit == 1, output);
            Assert.Contains("TAMPERED", output, StringComparison.Ordinal);
            Assert.Contains($"seq {seq} altered", output, StringComparison.OrdinalIgnoreCase);

            // A key that holds eu only: us is refused, and that must not hide eu's tampering (it printed only the 403, exit 3).
            var (mixedExit, mixed) = await RunAsync("audit", "verify", "--region", "eu,us", "--admin-key", AuditSystem.EuOnlyKey);
            Assert.True(mixedExit == 1, mixed);
            Assert.Contains("TAMPERED", mixed, StringComparison.Ordinal);
            Assert.Contains("may not read region 'us'", mixed, StringComparison.Ordinal);
        }
        finally
        {
            // Other tests of this class verify the same chain.
            await SetContentAsync(content);
        }

        var (again, text) = await RunAsync("audit", "verify", "--region", "eu", "--admin-key", AuditSystem.AdminKey);
        Assert.True(again == 0, text);
    }

    [Fact]
    public async Task Alerts_list_shows_a_raised_alert_and_ack_acknowledges_it()
    {
        var tenant = "cli-alert-" + Guid.NewGuid().ToString("N")[..6];
        await system.Publisher.PublishEventAsync(DaprComponents.PubSub, Topics.ModerationDecided, ContractEvents.Decision(tenant, "sexual/minors", $"req-{tenant}"), Ct);
        string? id = null;
        await system.WaitAsync(async () =>
        {
            using var response = await system.Http.SendAsync(system.Admin(HttpMethod.Get, "/admin/alerts"), Ct);
            var alert = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.EnumerateArray()
                .FirstOrDefault(a => a.GetProperty("category").GetString() == "sexual/minors" && a.GetProperty("tenantId").GetString() == tenant);
            id = alert.ValueKind == System.Text.Json.JsonValueKind.Object ? alert.GetProperty("id").GetString() : null;
            return id is not null;
        }, TimeSpan.FromSeconds(60), "the critical alert");

        var (exit, output) = await RunAsync("alerts", "list", "--open", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains(id!, output, StringComparison.Ordinal);
        Assert.Contains("critical", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync("alerts", "ack", id!, "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.Contains($"acknowledged {id}", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync("alerts", "list", "--open", "--admin-key", AuditSystem.AdminKey);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain(id!, output, StringComparison.Ordinal);
        (exit, output) = await RunAsync("alerts", "list", "--admin-key", AuditSystem.AdminKey);
        Assert.Contains(id!, output, StringComparison.Ordinal);
        Assert.Contains("root", output, StringComparison.Ordinal);
    }
}
