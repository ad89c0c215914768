using DaprLlm.AppHost.Dapr;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>
/// daprd is only taken when placement and scheduler answer: `dapr init --slim` installs them without starting them,
/// and a daprd without placement starts "healthy" while every actor call (API keys, quotas) fails.
/// </summary>
public sealed class DaprRuntimeChoiceTests
{
    private const string Daprd = "/home/dev/.dapr/bin/daprd";
    private const string Placement = "localhost:50005";
    private const string Scheduler = "localhost:50006";

    [Fact]
    public void Auto_takes_daprd_only_when_placement_and_scheduler_answer_and_says_why_not()
    {
        Assert.Equal((Daprd, null), DaprRuntime.Choose("auto", Daprd, Placement, Scheduler, _ => true));

        var (chosen, note) = DaprRuntime.Choose("auto", Daprd, Placement, Scheduler, address => address == Scheduler);
        Assert.Null(chosen);
        Assert.Contains("placement (localhost:50005)", note, StringComparison.Ordinal);
        Assert.DoesNotContain("scheduler (", note, StringComparison.Ordinal);

        Assert.Equal((null, null), DaprRuntime.Choose("auto", null, Placement, Scheduler, _ => false));
        Assert.Equal((null, null), DaprRuntime.Choose("local", Daprd, Placement, Scheduler, _ => true));
    }

    [Fact]
    public void An_explicit_daprd_choice_without_placement_or_scheduler_fails_at_start_naming_them()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DaprRuntime.Choose("daprd", Daprd, Placement, Scheduler, _ => false));
        Assert.Contains("placement (localhost:50005) and scheduler (localhost:50006)", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => DaprRuntime.Choose("daprd", null, Placement, Scheduler, _ => true));
    }
}
