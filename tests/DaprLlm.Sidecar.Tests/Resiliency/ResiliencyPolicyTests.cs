using System.Diagnostics;
using System.Net;
using DaprLlm.Sidecar.Tests.Infrastructure;
using DaprLlm.Sidecar.Tests.Invocation;

namespace DaprLlm.Sidecar.Tests.Resiliency;

public sealed class ResiliencyPolicyTests
{
    private const string Policies = """
        apiVersion: dapr.io/v1alpha1
        kind: Resiliency
        metadata:
          name: invocation-policies
        scopes: [caller]
        spec:
          policies:
            timeouts:
              short: 500ms
            retries:
              quick:
                policy: constant
                duration: 50ms
                maxRetries: 3
              only503:
                policy: exponential
                maxInterval: 100ms
                maxRetries: 3
                matching:
                  httpStatusCodes: "503"
            circuitBreakers:
              tripAt3:
                maxRequests: 1
                timeout: 1s
                trip: consecutiveFailures >= 3
          targets:
            apps:
              target:
                retry: quick
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retries_failed_calls_until_the_target_succeeds()
    {
        await using var pair = await InvocationPair.StartAsync(Policies);
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/flaky/r1/2", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok after retries", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(3, pair.Target.HitsOf("r1"));
    }

    [Fact]
    public async Task An_answer_that_breaks_after_its_first_bytes_is_cut_for_the_caller_and_not_retried()
    {
        await using var pair = await InvocationPair.StartAsync(Policies);
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/cut/c1", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);
        using var reader = new StreamReader(stream);
        Assert.Equal("data: first", await reader.ReadLineAsync(Ct));
        pair.Target.Gate("c1").TrySetResult();
        await Assert.ThrowsAnyAsync<Exception>(async () => await reader.ReadToEndAsync(Ct));

        // The caller's stream ends only after the sidecar has given up, so any retry would already have been made:
        // calling the target again would repeat what it did (a POST twice) without a way to restart the stream.
        Assert.Equal(1, pair.Target.HitsOf("c1"));
    }

    [Fact]
    public async Task Retries_send_the_request_body_again_on_every_attempt()
    {
        await using var pair = await InvocationPair.StartAsync(Policies);
        using var http = pair.InvokeClient();
        using var content = new StringContent("{\"order\":7}", System.Text.Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("http://target/flaky-echo/b1/2", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"order\":7}", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(3, pair.Target.HitsOf("b1"));
    }

    [Fact]
    public async Task Gives_up_after_max_retries_and_passes_the_last_answer_through()
    {
        await using var pair = await InvocationPair.StartAsync(Policies);
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/always/r2/502", Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("always 502", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(4, pair.Target.HitsOf("r2"));
    }

    [Fact]
    public async Task Matching_status_codes_limit_which_answers_are_retried()
    {
        await using var pair = await InvocationPair.StartAsync(Policies.Replace("retry: quick", "retry: only503", StringComparison.Ordinal));
        using var http = pair.InvokeClient();

        using var notMatching = await http.GetAsync("http://target/always/m1/500", Ct);
        using var matching = await http.GetAsync("http://target/flaky/m2/2", Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, notMatching.StatusCode);
        Assert.Equal(1, pair.Target.HitsOf("m1"));
        Assert.Equal(HttpStatusCode.OK, matching.StatusCode);
        Assert.Equal(3, pair.Target.HitsOf("m2"));
    }

    [Fact]
    public async Task Timeout_policy_cuts_a_slow_call_with_err_direct_invoke()
    {
        await using var pair = await InvocationPair.StartAsync(Policies.Replace("retry: quick", "timeout: short", StringComparison.Ordinal));
        using var http = pair.InvokeClient();
        var watch = Stopwatch.StartNew();

        using var response = await http.GetAsync("http://target/slow/t1", Ct);
        var error = await DaprError.ReadAsync(response, Ct);
        pair.Target.Gate("t1").TrySetResult();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", error.ErrorCode);
        Assert.Equal("failed to invoke, id: target, err: context deadline exceeded", error.Message);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Circuit_breaker_opens_after_the_trip_condition_and_closes_when_the_target_recovers()
    {
        await using var pair = await InvocationPair.StartAsync(Policies.Replace("retry: quick", "circuitBreaker: tripAt3", StringComparison.Ordinal));
        using var http = pair.InvokeClient();

        for (var i = 0; i < 3; i++)
        {
            using var failing = await http.GetAsync("http://target/breaker", Ct);
            Assert.Equal(HttpStatusCode.InternalServerError, failing.StatusCode);
            Assert.Equal("failing", await failing.Content.ReadAsStringAsync(Ct));
        }

        using var open = await http.GetAsync("http://target/breaker", Ct);
        var openError = await DaprError.ReadAsync(open, Ct);
        Assert.Equal(HttpStatusCode.InternalServerError, open.StatusCode);
        Assert.Equal("failed to invoke, id: target, err: circuit breaker is open", openError.Message);
        Assert.Equal(3, pair.Target.HitsOf("breaker"));

        pair.Target.BreakerFailing = false;
        await Deadline.WaitUntilAsync(async () =>
        {
            using var probe = await http.GetAsync("http://target/breaker", Ct);
            return probe.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the circuit breaker to let a call through again");
        using var closed = await http.GetAsync("http://target/breaker", Ct);
        Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
        Assert.Equal(5, pair.Target.HitsOf("breaker"));
    }

    [Fact]
    public async Task A_policy_scoped_to_another_app_does_not_apply()
    {
        await using var pair = await InvocationPair.StartAsync(Policies.Replace("scopes: [caller]", "scopes: [someone-else]", StringComparison.Ordinal));
        using var http = pair.InvokeClient();

        using var response = await http.GetAsync("http://target/flaky/s1/2", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, pair.Target.HitsOf("s1"));
    }
}
