using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Inference.Tests;

/// <summary>Inference:IntraOpThreads: the automatic default, explicit values, validation and the start-up log line.</summary>
public sealed class IntraOpThreadsTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 0)]
    [InlineData(64, 0)]
    public void Unset_gives_one_thread_on_two_cores_or_fewer_and_lets_onnx_runtime_decide_above(int processors, int expected)
    {
        var (threads, reason) = IntraOpThreadPolicy.Resolve(null, processors);

        Assert.Equal(expected, threads);
        Assert.StartsWith("automatic", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 2, 0)]
    [InlineData(0, 64, 0)]
    [InlineData(2, 2, 2)]
    [InlineData(4, 64, 4)]
    public void An_explicit_value_is_used_as_configured_on_any_machine(int configured, int processors, int expected)
    {
        var (threads, reason) = IntraOpThreadPolicy.Resolve(configured, processors);

        Assert.Equal(expected, threads);
        Assert.StartsWith("configured", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 1, 8)]
    [InlineData(64, 1, 8)]
    [InlineData(1, 1, 0)]
    [InlineData(2, 0, 0)]
    [InlineData(64, 4, 0)]
    public void Unset_split_steps_use_a_second_core_only_where_sessions_run_one_intra_op_thread(int processors, int intraOpThreads, int expected)
    {
        var (rows, reason) = SplitStepPolicy.Resolve(null, processors, intraOpThreads);

        Assert.Equal(expected, rows);
        Assert.StartsWith("automatic", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 2, 1, 0)]
    [InlineData(4, 1, 1, 4)]
    [InlineData(16, 64, 0, 16)]
    public void An_explicit_split_step_rows_value_is_used_as_configured(int configured, int processors, int intraOpThreads, int expected)
    {
        var (rows, reason) = SplitStepPolicy.Resolve(configured, processors, intraOpThreads);

        Assert.Equal(expected, rows);
        Assert.StartsWith("configured", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_split_step_rows_value_fails_the_start()
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { ["Inference:SplitStepRows"] = "-1" });

        Assert.Contains("SplitStepRows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_value_fails_the_start()
    {
        var error = await StartFailure.OfAsync(new Dictionary<string, string?> { ["Inference:IntraOpThreads"] = "-1" });

        Assert.Contains("IntraOpThreads", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("1", null)]
    [InlineData("0", "false")]
    public async Task The_start_logs_the_threads_the_sessions_get_and_why(string? configured, string? spinning)
    {
        var ct = TestContext.Current.CancellationToken;
        var logs = new LogCapture();
        await using var app = new Factory(new() { ["Inference:IntraOpThreads"] = configured, ["Inference:IntraOpSpinning"] = spinning }, logs);
        using var client = app.CreateClient();

        var answer = await Api.GenerateAsync(client, Api.Request("Jesus wept.", maxTokens: 4), ct);

        Assert.True(answer.GetProperty("completionTokens").GetInt32() > 0);
        var expected = IntraOpThreadPolicy.Resolve(configured is null ? null : int.Parse(configured, System.Globalization.CultureInfo.InvariantCulture),
            Environment.ProcessorCount);
        var line = Assert.Single(logs.Messages, m => m.StartsWith("ONNX Runtime intra-op threads per session", StringComparison.Ordinal));
        Assert.Contains($"session: {expected.Threads} ", line, StringComparison.Ordinal);
        Assert.Contains(expected.Reason, line, StringComparison.Ordinal);
        Assert.EndsWith($"spinning {spinning != "false"}", line, StringComparison.Ordinal);
        var split = SplitStepPolicy.Resolve(null, Environment.ProcessorCount, expected.Threads);
        var splitLine = Assert.Single(logs.Messages, m => m.StartsWith("Decode steps split into two concurrent halves", StringComparison.Ordinal));
        Assert.Contains($"from {split.Rows} rows", splitLine, StringComparison.Ordinal);
        Assert.Contains(split.Reason, splitLine, StringComparison.Ordinal);
    }

    private sealed class Factory(Dictionary<string, string?> settings, LogCapture logs) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings.Where(kv => kv.Value is not null))
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(logs));
        }
    }
}
