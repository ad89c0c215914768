using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DaprLlm.Contracts;
using DaprLlm.Embeddings;
using DaprLlm.Review.Tests.Infrastructure;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Review;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DaprLlm.Review.Tests.Moderation;

/// <summary>
/// A /v1/moderations batch is scored whole before anything is recorded: an input that cannot be scored leaves no review
/// item and no moderation.decided behind, a retry under the same x-request-id finds the review it opened, and the
/// decisions are marked Stage "api". The ML layer's vectors come from a source that fails for texts holding a marker.
/// </summary>
public sealed class ModerationsBatchTests
{
    private const string Marker = "unscorable-marker";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_with_an_input_that_cannot_be_scored_records_nothing_and_its_retry_opens_one_review()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(30), testServices: FailingEmbeddings);
        using var app = host.CreateAppClient();
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..10];
        var requestId = "req-" + Guid.NewGuid().ToString("N");
        // PII set to "review": the first input goes to a human once it is scored.
        using (var policy = new HttpRequestMessage(HttpMethod.Put, $"/admin/policies/{tenant}") { Content = new StringContent("""{"piiAction": "review"}""", Encoding.UTF8, "application/json") })
        {
            policy.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReviewHost.AdminKey);
            using var updated = await app.SendAsync(policy, Ct);
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        }

        const string reviewText = "Write to jane.roe@example.com, she organises the picnic.";
        using (var failed = await ModerateAsync(app, tenant, requestId, [reviewText, "The weather is mild. " + Marker]))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        // The review input was scored before the failure, and nothing was opened for it.
        var reviewId = ReviewService.IdFor(tenant, $"modr-{requestId}-0", ReviewDirections.Input);
        var store = host.App.Services.GetRequiredService<ReviewStore>();
        Assert.Null(await store.GetAsync(reviewId, Ct));
        Assert.DoesNotContain(await store.ListOpenAsync(Ct), i => i.TenantId == tenant);

        // The client's retries (the same request id) are answered, and both name the one review item.
        string[] texts = [reviewText, "The weather is mild and the trains run on time."];
        foreach (var attempt in new[] { "first retry", "second retry" })
        {
            using var response = await ModerateAsync(app, tenant, requestId, texts);
            var raw = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{attempt}: {(int)response.StatusCode} {raw}");
            using var body = JsonDocument.Parse(raw);
            var results = body.RootElement.GetProperty("results");
            Assert.Equal("review", results[0].GetProperty("decision").GetString());
            Assert.Equal(reviewId, results[0].GetProperty("review_id").GetString());
            Assert.Equal("allow", results[1].GetProperty("decision").GetString());
        }

        Assert.Single(await store.ListOpenAsync(Ct), i => i.TenantId == tenant);

        // Two answered calls of two inputs: four decisions, all marked as classification calls. A decision published by
        // the failed call would have gone out through the same outbox before these.
        IReadOnlyList<string> published = [];
        await Deadline.WaitUntilAsync(async () => (published = await host.PublishedAsync(Topics.ModerationDecided, tenant)).Count >= 4, Wait, "four moderation.decided events");
        Assert.Equal(4, published.Count);
        Assert.All(published.Select(Data), e => Assert.Equal("api", e.GetProperty("stage").GetString()));
    }

    [Fact]
    public async Task A_malformed_request_id_is_refused()
    {
        await using var host = await ReviewHost.StartAsync(TimeSpan.FromMinutes(30));
        using var app = host.CreateAppClient();

        using var response = await ModerateAsync(app, "acme", "req 1/..", ["hello"]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("x-request-id", body.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    private static Task<HttpResponseMessage> ModerateAsync(HttpClient app, string tenant, string requestId, string[] input)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/" + ServiceMethods.Moderations) { Content = JsonContent.Create(new { input }) };
        request.Headers.Add("x-tenant-id", tenant);
        request.Headers.TryAddWithoutValidation("x-request-id", requestId);
        return app.SendAsync(request, Ct);
    }

    // The stream entry holds the CloudEvent; the event record is its "data".
    private static JsonElement Data(string cloudEvent)
    {
        using var document = JsonDocument.Parse(cloudEvent);
        return document.RootElement.GetProperty("data").Clone();
    }

    /// <summary>The engine reads its vectors from <see cref="MarkerFailingSource"/> instead of its own embedder.</summary>
    private static void FailingEmbeddings(IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var path = sp.GetRequiredService<IOptions<ModerationOptions>>().Value.ResolvedModelPath;
            var model = LinearSafetyModel.Load(path, embedInProcess: false);
            return new MarkerFailingSource(LinearSafetyModel.CreateEmbedder(model.Manifest.Embedding!, Path.GetDirectoryName(path)!));
        });
        services.AddSingleton(sp => new SafetyEngine(
            LinearSafetyModel.Load(sp.GetRequiredService<IOptions<ModerationOptions>>().Value.ResolvedModelPath, embedInProcess: false),
            sp.GetRequiredService<MarkerFailingSource>()));
    }

    /// <summary>The in-process embedder's vectors, except that a text holding the marker fails as a dead inference service would.</summary>
    private sealed class MarkerFailingSource(SentenceEmbedder embedder) : IEmbeddingSource, IDisposable
    {
        public ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken) =>
            text.Contains(Marker, StringComparison.Ordinal)
                ? throw new EmbeddingsUnavailableException("the test's embedding source fails for this text")
                : ValueTask.FromResult(embedder.Embed(text));

        public void Dispose() => embedder.Dispose();
    }
}
