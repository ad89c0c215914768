using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Moderation;

/// <summary>
/// A tenant's stored policy keeps what the tenant set, not a copy of the shipped defaults: after a retrained model
/// ships new default thresholds (two engines with different defaults over one real state store), the categories the
/// tenant never set follow the new defaults and the version changes; records stored before still load as they were.
/// </summary>
public sealed class PolicyDefaultsTests(ModerationApiTests.SafetyHost fixture) : IClassFixture<ModerationApiTests.SafetyHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DaprClient Dapr => fixture.Host.App.Services.GetRequiredService<DaprClient>();

    [Fact]
    public async Task A_tenant_that_set_only_violence_follows_a_retrained_model_s_new_default_for_hate()
    {
        var tenant = Tenant();
        var before = Store(Engine("test-v1", hate: new(0.20, 0.90)));
        var after = Store(Engine("test-v2", hate: new(0.35, 0.95)));

        var stored = await before.UpdateAsync(tenant, new PolicyUpdate(Categories: new Dictionary<string, CategoryThresholds> { ["violence"] = new(0.10, 0.50) }), Ct);
        var old = await before.GetAsync(tenant, Ct);
        var current = await after.GetAsync(tenant, Ct);

        Assert.NotNull(stored);
        Assert.Equal(new CategoryThresholds(0.20, 0.90), old.Categories["hate"]);
        Assert.Equal(new CategoryThresholds(0.35, 0.95), current.Categories["hate"]);
        Assert.Equal(new CategoryThresholds(0.10, 0.50), current.Categories["violence"]);
        // Same revision, new default: a new version, so verdicts cached under the old thresholds are not reused.
        Assert.NotEqual(old.Version, current.Version);
        Assert.StartsWith($"{tenant}-r1", current.Version, StringComparison.Ordinal);

        // A later update under the new model keeps the tenant's violence and still leaves hate to the default.
        await after.UpdateAsync(tenant, new PolicyUpdate(PiiAction: Decisions.Block), Ct);
        var updated = await Store(Engine("test-v2", hate: new(0.35, 0.95))).GetAsync(tenant, Ct);
        Assert.Equal(Decisions.Block, updated.PiiAction);
        Assert.Equal(new CategoryThresholds(0.10, 0.50), updated.Categories["violence"]);
        Assert.Equal(new CategoryThresholds(0.35, 0.95), updated.Categories["hate"]);
        Assert.Equal(new Dictionary<string, CategoryThresholds> { ["violence"] = new(0.10, 0.50) }, (await after.GetStoredAsync(tenant, Ct))!.Overrides!.Categories);
    }

    [Fact]
    public async Task A_policy_stored_before_overrides_were_kept_loads_and_stays_in_force_as_stored()
    {
        var tenant = Tenant();
        // The old record: the full policy only, the shipped hate thresholds of its day copied in.
        var oldPolicy = new SafetyPolicy($"{tenant}-r3", new Dictionary<string, CategoryThresholds>
        {
            ["violence"] = new(0.10, 0.50),
            ["hate"] = new(0.20, 0.90),
        }, Decisions.Review, ["zorblax"]);
        await Dapr.SaveStateAsync(DaprComponents.StateStore, PolicyStore.Key(tenant),
            new { tenant, revision = 3, policy = oldPolicy, updatedAt = DateTimeOffset.UnixEpoch }, cancellationToken: Ct);
        var store = Store(Engine("test-v2", hate: new(0.35, 0.95)));

        var loaded = await store.GetAsync(tenant, Ct);
        var stored = await store.GetStoredAsync(tenant, Ct);

        Assert.Null(stored!.Overrides);
        Assert.Equal(oldPolicy.Version, loaded.Version);
        Assert.Equal(oldPolicy.Categories, loaded.Categories);
        Assert.Equal(Decisions.Review, loaded.PiiAction);
        Assert.Equal(["zorblax"], loaded.DenyTerms);

        // Its next update keeps everything it had in force (what differs from today's default cannot be told from the
        // tenant's own setting) and adds the change.
        await store.UpdateAsync(tenant, new PolicyUpdate(AllowTerms: ["zorblax cake"]), Ct);
        var next = await Store(Engine("test-v2", hate: new(0.35, 0.95))).GetAsync(tenant, Ct);
        Assert.Equal(new CategoryThresholds(0.10, 0.50), next.Categories["violence"]);
        Assert.Equal(new CategoryThresholds(0.20, 0.90), next.Categories["hate"]);
        Assert.Equal(Decisions.Review, next.PiiAction);
        Assert.Equal(["zorblax"], next.DenyTerms);
        Assert.Equal(["zorblax cake"], next.AllowTerms);
        Assert.Equal($"{tenant}-r4+test-v2", next.Version);
    }

    private PolicyStore Store(SafetyEngine engine) =>
        new(Dapr, engine, Options.Create(new ModerationOptions { PolicyRefreshSeconds = 0 }), TimeProvider.System);

    /// <summary>An engine whose shipped policy has the given hate thresholds (violence fixed); the heads are never run here.</summary>
    private static SafetyEngine Engine(string version, CategoryThresholds hate)
    {
        HeadManifest[] heads = [new("violence", 0, 1, 0, 1), new("hate", 0, 1, 0, 1)];
        var defaults = new SafetyPolicy(version, new Dictionary<string, CategoryThresholds>
        {
            ["violence"] = new(0.40, 0.97),
            ["hate"] = hate,
        });
        var manifest = new SafetyModelManifest("test", version, 10, 256, "none", heads, [], defaults);
        return new SafetyEngine(new LinearSafetyModel(manifest, [.. heads.Select(_ => new float[1 << 10])]));
    }

    private static string Tenant() => "t-" + Guid.NewGuid().ToString("N")[..10];
}
