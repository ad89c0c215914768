using System.Text.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Review.Tests.Unit;

/// <summary>
/// The recalibration command itself (tools/DaprLlm.SafetyRecalibrate, built by the project reference) run as a process
/// on a small export: a good run prints one proposal per category; bad arguments or rows are a one-line error, exit 2.
/// </summary>
public sealed class RecalibrationToolTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("daprllm-recalibrate-").FullName;

    [Fact]
    public async Task Prints_one_json_proposal_per_category_for_a_review_export()
    {
        var file = Export(
            """{"id":"review:1","text":"t","label":1,"labels":{"violence":1},"meta":{"category_scores":{"violence":0.8,"hate":0.3}}}""",
            """{"id":"review:2","text":"t","label":1,"labels":{"hate":1},"meta":{"category_scores":{"violence":0.4,"hate":0.9}}}""",
            "",
            """{"id":"review:3","text":"t","label":0,"labels":{},"meta":{"category_scores":{"violence":0.2,"hate":0.1}}}""");

        var (exitCode, stdout, stderr) = await RunToolAsync(file, "--precision", "0.9", "--recall", "0.9");

        Assert.True(exitCode == 0, $"exit {exitCode}: {stderr}");
        Assert.Contains("3 labelled examples", stderr, StringComparison.Ordinal);
        var proposals = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(p => p.GetProperty("category").GetString()!);
        Assert.Equal(["any", "hate", "violence"], proposals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, proposals["any"].GetProperty("positives").GetInt32());
        Assert.Equal(0.8, proposals["any"].GetProperty("block").GetProperty("threshold").GetDouble());
    }

    [Theory]
    [InlineData("--precision", "x", "--precision needs a number in (0, 1], got 'x'")]
    [InlineData("--recall", "1.5", "--recall needs a number in (0, 1], got '1.5'")]
    [InlineData("--precision", null, "--precision needs a number in (0, 1], got ''")]
    [InlineData("--threshold", "0.5", "unknown option --threshold")]
    public async Task Bad_arguments_are_a_one_line_error_with_exit_code_2(string option, string? value, string expected)
    {
        var file = Export("""{"id":"review:1","text":"t","label":1,"labels":{},"meta":{"category_scores":{"hate":0.9}}}""");

        var (exitCode, stdout, stderr) = await RunToolAsync(value is null ? [file, option] : [file, option, value]);

        Assert.Equal(2, exitCode);
        Assert.Empty(stdout);
        Assert.Equal(["error: " + expected, "usage: DaprLlm.SafetyRecalibrate <feedback.jsonl>... [--precision 0.9] [--recall 0.95]"],
            stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task A_malformed_row_or_a_missing_file_is_an_error_with_exit_code_2()
    {
        var file = Export("""{"id":"review:1","text":"t","label":1,"meta":{"category_scores":{"hate":0.9}}}""", "{not json");

        var malformed = await RunToolAsync(file);
        var missing = await RunToolAsync(Path.Combine(_folder, "missing.jsonl"));
        var none = await RunToolAsync();

        Assert.Equal(2, malformed.ExitCode);
        Assert.StartsWith($"error: {file}:2: not a labelled example", malformed.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("error: no such file:", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, none.ExitCode);
        Assert.StartsWith("error: give at least one feedback.jsonl file", none.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Export(params string[] lines)
    {
        var file = Path.Combine(_folder, $"feedback-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, lines);
        return file;
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunToolAsync(params string[] args) =>
        DotnetTool.RunAsync(ToolDll, args, TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);

    /// <summary>The tool as built by the project reference, copied next to the tests.</summary>
    private static string ToolDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "DaprLlm.SafetyRecalibrate.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build tools/DaprLlm.SafetyRecalibrate first (the test project references it)", path);
        }
    }
}
