using DaprLlm.Contracts.Inference;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.Review.Accounts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Unit;

/// <summary>Review rules that need no process: defaults, priority, roles, statistics, options, labelled examples.</summary>
public sealed class ReviewRulesTests
{
    private static readonly ReviewPolicy Policy = new(Options.Create(new ReviewOptions()));
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static ReviewEscalation Escalation(string severity, params (string Category, double Score)[] scores) =>
        new("acme", "r1", "input", "text", scores.ToDictionary(s => s.Category, s => s.Score), [], severity, "p1", []);

    [Theory]
    [InlineData("medium", "self-harm/instructions", 0.5, "block")]
    [InlineData("medium", "sexual/minors", 0.31, "block")]
    [InlineData("medium", "sexual/minors", 0.1, "allow")]
    [InlineData("low", "harassment", 0.9, "allow")]
    [InlineData("critical", "harassment", 0.2, "block")]
    public void The_default_fails_closed_for_severe_categories_and_severities_and_open_otherwise(string severity, string category, double score, string expected) =>
        Assert.Equal(expected, Policy.DefaultDecision(Escalation(severity, (category, score))));

    [Theory]
    [InlineData("illicit", "high")]
    [InlineData("sexual/minors", "critical")]
    public void Severity_is_the_worst_over_every_category_in_review_not_the_top_one(string severe, string expected)
    {
        // Harassment has the higher score/allow ratio, so it is the top category; the severe one is just in the band.
        var decisions = new Dictionary<string, string> { ["harassment"] = "review", [severe] = "review", ["violence"] = "allow" };

        var severity = ReviewSeverity.Of(decisions);

        Assert.Equal(expected, severity);
        Assert.Equal("block", Policy.DefaultDecision(Escalation(severity, ("illicit", 0.86), ("harassment", 0.55))));
    }

    [Fact]
    public void A_severe_category_the_policy_allowed_does_not_raise_the_severity() =>
        Assert.Equal("medium", ReviewSeverity.Of(new Dictionary<string, string> { ["harassment"] = "review", ["sexual/minors"] = "allow" }));

    [Fact]
    public void Configured_fail_closed_lists_replace_the_defaults_instead_of_being_appended_to_them()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Review:FailClosedSeverities:0"] = "critical",
            ["Review:FailClosedCategories:0"] = "jailbreak",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration)
            .AddOptions<ReviewOptions>().BindConfiguration(ReviewOptions.Section).Services.BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<ReviewOptions>>();
        var policy = new ReviewPolicy(options);

        Assert.Equal(["critical"], options.Value.EffectiveFailClosedSeverities);
        Assert.Equal(["jailbreak"], options.Value.EffectiveFailClosedCategories);
        Assert.Equal("allow", policy.DefaultDecision(Escalation("high", ("sexual/minors", 0.9))));
        Assert.Equal("block", policy.DefaultDecision(Escalation("critical")));
        Assert.Equal("block", policy.DefaultDecision(Escalation("low", ("jailbreak", 0.5))));
        Assert.Equal(["high", "critical"], new ReviewOptions().EffectiveFailClosedSeverities);
    }

    [Fact]
    public void Priority_orders_by_severity_then_by_the_highest_score()
    {
        var low = ReviewPolicy.Priority("low", new Dictionary<string, double> { ["hate"] = 0.99 });
        var high = ReviewPolicy.Priority("high", new Dictionary<string, double> { ["hate"] = 0.1 });
        var higher = ReviewPolicy.Priority("high", new Dictionary<string, double> { ["hate"] = 0.6 });

        Assert.True(low < high && high < higher, $"{low} < {high} < {higher}");
    }

    [Fact]
    public void Roles_decide_which_queue_a_reviewer_may_work()
    {
        var reviewer = new Reviewer("r", new HashSet<string> { ReviewRoles.Reviewer }, new HashSet<string> { "acme" });
        var senior = new Reviewer("s", new HashSet<string> { ReviewRoles.Senior }, new HashSet<string> { "*" });
        var nobody = new Reviewer("n", new HashSet<string>(), new HashSet<string> { "*" });

        Assert.True(reviewer.CanWorkQueue(ReviewStatuses.StandardQueue));
        Assert.False(reviewer.CanWorkQueue(ReviewStatuses.SeniorQueue));
        Assert.True(senior.CanWorkQueue(ReviewStatuses.SeniorQueue));
        Assert.False(nobody.CanWorkQueue(ReviewStatuses.StandardQueue));
        Assert.True(senior.CanSeeTenant("globex"));
        Assert.False(reviewer.CanSeeTenant("globex"));
    }

    [Fact]
    public void Stats_count_depth_breaches_decisions_and_model_agreement()
    {
        var open = new[]
        {
            Item("1", ReviewStatuses.Pending, ReviewStatuses.StandardQueue, Now.AddMinutes(-1)),
            Item("2", ReviewStatuses.Escalated, ReviewStatuses.SeniorQueue, Now.AddMinutes(5)),
        };
        var closed = new[]
        {
            Item("3", ReviewStatuses.Blocked, ReviewStatuses.StandardQueue, Now) with { DecidedBy = "alice", Decision = "block", SlaBreached = true },
            Item("4", ReviewStatuses.Allowed, ReviewStatuses.StandardQueue, Now) with { DecidedBy = "alice", Decision = "allow" },
            Item("5", ReviewStatuses.Defaulted, ReviewStatuses.SeniorQueue, Now) with { Decision = "block", SlaBreached = true },
        };

        var stats = ReviewStats.From(open, closed, Now);

        Assert.Equal((1, 1, 1, 1, 1), (stats.StandardDepth, stats.SeniorDepth, stats.OpenPastDeadline, stats.DecidedLate, stats.Defaulted));
        Assert.Equal([("alice", 1, 1)], stats.DecisionsByReviewer);
        // The model suggested block for every item: it agreed with one of the two human decisions.
        Assert.Equal(0.5, stats.Agreement);
    }

    [Fact]
    public void Stats_count_an_item_closed_by_erasure_apart_from_the_defaults()
    {
        var closed = new[]
        {
            Item("5", ReviewStatuses.Defaulted, ReviewStatuses.SeniorQueue, Now) with { Decision = "block", SlaBreached = true },
            Item("6", ReviewStatuses.Defaulted, ReviewStatuses.StandardQueue, Now) with { Decision = "allow", ClosedByErasure = true },
        };

        var stats = ReviewStats.From([], closed, Now);

        Assert.Equal((1, 1, 0), (stats.Defaulted, stats.ClosedByErasure, stats.DecidedLate));
    }

    [Fact]
    public void An_item_stored_before_the_erasure_flag_existed_reads_as_not_closed_by_erasure()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(
            Item("8", ReviewStatuses.Defaulted, ReviewStatuses.StandardQueue, Now) with { Decision = "allow" }, System.Text.Json.JsonSerializerOptions.Web))!.AsObject();
        Assert.True(json.Remove("closedByErasure"));

        var item = System.Text.Json.JsonSerializer.Deserialize<ReviewItem>(json, System.Text.Json.JsonSerializerOptions.Web)!;

        Assert.False(item.ClosedByErasure);
        Assert.Equal(1, ReviewStats.From([], [item], Now).Defaulted);
    }

    [Fact]
    public void A_human_decision_becomes_a_masked_labelled_example_and_a_default_does_not()
    {
        var decided = Item("7", ReviewStatuses.Blocked, ReviewStatuses.StandardQueue, Now) with { DecidedBy = "alice", Decision = "block", Labels = ["hate"] };

        var example = LabelledExample.From(decided, DaprLlm.Safety.Rules.PiiDetector.Default.Mask)!;

        Assert.Equal(1, example.Label);
        Assert.Equal("mail <EMAIL_ADDRESS>", example.Text);
        Assert.Equal(1, example.Labels["hate"]);
        Assert.Equal(0.7, example.Meta.CategoryScores["violence"]);
        Assert.Null(LabelledExample.From(decided with { DecidedBy = null, Status = ReviewStatuses.Defaulted }, t => t));
    }

    [Fact]
    public void Options_refuse_clear_passwords_outside_development_and_unknown_roles()
    {
        var options = new ReviewOptions
        {
            Accounts = [new ReviewerAccountOptions { UserName = "a", Password = "x", Roles = ["reviewer"] }, new ReviewerAccountOptions { UserName = "b", PasswordHash = "h", Roles = ["boss"] }],
        };

        var production = new ReviewOptionsValidator(new Env("Production")).Validate(null, options);
        var development = new ReviewOptionsValidator(new Env("Development")).Validate(null, options);

        Assert.Contains(production.Failures!, f => f.Contains("only accepted in Development", StringComparison.Ordinal));
        Assert.DoesNotContain(development.Failures!, f => f.Contains("only accepted in Development", StringComparison.Ordinal));
        Assert.Contains(development.Failures!, f => f.Contains("'b': roles must be among", StringComparison.Ordinal));
    }

    private static ReviewItem Item(string id, string status, string queue, DateTimeOffset deadline) =>
        new(id, "acme", "r" + id, "input", "mail jane@example.com", new Dictionary<string, double> { ["violence"] = 0.7 }, [], "medium", "p1",
            [new ChatMessage("user", "hi")], 250, "allow", "block", Now.AddMinutes(-10), deadline, status, queue);

    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "test";

        public string ContentRootPath { get; set; } = "/";

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }
}
