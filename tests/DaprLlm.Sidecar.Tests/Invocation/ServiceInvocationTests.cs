// DaprClient's invoke methods are marked obsolete in favour of plain clients, but apps still use them: they must keep working.
#pragma warning disable CS0618

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Autogen = Dapr.Client.Autogen.Grpc.v1;

namespace DaprLlm.Sidecar.Tests.Invocation;

public sealed class ServiceInvocationTests(InvocationPairFixture fixture) : IClassFixture<InvocationPairFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private InvocationPair Pair => fixture.Pair;

    [Fact]
    public async Task Sdk_post_round_trips_method_path_query_headers_and_body_through_both_sidecars()
    {
        using var client = Pair.CallerClient();
        var request = client.CreateInvokeMethodRequest(HttpMethod.Post, "target", "echo/orders/42?tag=a&tag=b", [], new { item = "widget", count = 3 });
        request.Headers.Add("x-custom-header", "custom-value");

        var reply = await client.InvokeMethodAsync<EchoReply>(request, Ct);

        Assert.Equal("POST", reply.Method);
        Assert.Equal("/echo/orders/42", reply.Path);
        Assert.Equal("?tag=a&tag=b", reply.Query);
        Assert.Equal("custom-value", reply.Headers["x-custom-header"]);
        Assert.Contains("\"item\":\"widget\"", reply.Body, StringComparison.Ordinal);
        Assert.Equal("caller", reply.Headers["dapr-caller-app-id"]);
        Assert.Equal("target", reply.Headers["dapr-callee-app-id"]);
        Assert.StartsWith("application/json", reply.Headers["content-type"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    public async Task Every_verb_reaches_the_target_app_unchanged(string verb)
    {
        using var http = Pair.InvokeClient();
        using var request = new HttpRequestMessage(new HttpMethod(verb), "http://target/echo/verbs?v=1");
        if (verb is "PUT" or "PATCH")
        {
            request.Content = new StringContent("payload", Encoding.UTF8, "text/plain");
        }

        using var response = await http.SendAsync(request, Ct);
        var reply = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(verb, reply!.Method);
        Assert.Equal("?v=1", reply.Query);
        Assert.Equal(verb is "PUT" or "PATCH" ? "payload" : "", reply.Body);
        Assert.Equal("from-target", response.Headers.GetValues("x-echo").Single());
    }

    [Theory]
    [InlineData(201)]
    [InlineData(404)]
    [InlineData(418)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Status_codes_body_and_headers_of_the_target_reach_the_caller(int code)
    {
        using var http = Pair.InvokeClient();

        using var response = await http.GetAsync($"http://target/status/{code}", Ct);

        Assert.Equal(code, (int)response.StatusCode);
        Assert.Equal($"answered {code}", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("target", response.Headers.GetValues("x-status-source").Single());
    }

    [Fact]
    public async Task A_header_value_that_is_not_ascii_reaches_the_caller_byte_for_byte()
    {
        using var http = Pair.InvokeClient();

        using var response = await http.GetAsync("http://target/utf8-header", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // HttpClient reads header bytes as Latin-1: turning them back into bytes gives what the target sent.
        var value = Assert.Single(response.Headers.GetValues("x-user"));
        Assert.Equal("José Ñúñez", System.Text.Encoding.UTF8.GetString(System.Text.Encoding.Latin1.GetBytes(value)));
    }

    [Fact]
    public async Task Server_sent_events_reach_the_caller_before_the_target_finishes_its_response()
    {
        var key = Guid.NewGuid().ToString("N");
        using var http = Pair.InvokeClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://target/sse/{key}");
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);
        using var reader = new StreamReader(stream);
        using var firstLineTimeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        firstLineTimeout.CancelAfter(TimeSpan.FromSeconds(10));
        var first = await reader.ReadLineAsync(firstLineTimeout.Token);

        // The target is still blocked on the gate here: the first event crossed both sidecars on its own.
        Assert.False(Pair.Target.Gate(key).Task.IsCompleted);
        Assert.Equal("data: first", first);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        Pair.Target.Gate(key).SetResult();
        var rest = await reader.ReadToEndAsync(Ct);
        Assert.Contains("data: second", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Traceparent_is_continued_with_a_new_span_per_sidecar_hop()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        using var http = Pair.InvokeClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://target/echo/trace");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{clientSpan}-01");
        request.Headers.TryAddWithoutValidation("tracestate", "vendor=value");

        using var response = await http.SendAsync(request, Ct);
        var reply = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        var parts = reply!.Headers["traceparent"].Split('-');
        Assert.Equal(4, parts.Length);
        Assert.Equal(traceId.ToHexString(), parts[1]);
        Assert.NotEqual(clientSpan.ToHexString(), parts[2]);
        Assert.Equal("01", parts[3]);
        Assert.Equal("vendor=value", reply.Headers["tracestate"]);
    }

    [Fact]
    public async Task An_unsampled_trace_stays_unsampled_and_an_invalid_traceparent_starts_a_new_trace()
    {
        // No exporter here: the sidecars pass the context on without spans; it must read as the spans' context would.
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        using var http = Pair.InvokeClient();

        using var unsampled = new HttpRequestMessage(HttpMethod.Get, "http://target/echo/unsampled");
        unsampled.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{clientSpan}-00");
        using var unsampledResponse = await http.SendAsync(unsampled, Ct);
        var parts = (await unsampledResponse.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct))!.Headers["traceparent"].Split('-');

        using var invalid = new HttpRequestMessage(HttpMethod.Get, "http://target/echo/invalid-trace");
        invalid.Headers.TryAddWithoutValidation("traceparent", $"00-{new string('0', 32)}-{clientSpan}-01");
        invalid.Headers.TryAddWithoutValidation("tracestate", "vendor=value");
        using var invalidResponse = await http.SendAsync(invalid, Ct);
        var fresh = (await invalidResponse.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct))!.Headers;

        Assert.Equal(["00", traceId.ToHexString()], parts[..2]);
        Assert.Matches("^[0-9a-f]{16}$", parts[2]);
        Assert.NotEqual(clientSpan.ToHexString(), parts[2]);
        Assert.Equal("00", parts[3]);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", fresh["traceparent"]);
        Assert.DoesNotContain(new string('0', 32), fresh["traceparent"], StringComparison.Ordinal);
        Assert.False(fresh.ContainsKey("tracestate"));
    }

    [Fact]
    public async Task A_trace_is_started_when_the_caller_sends_none()
    {
        using var http = Pair.InvokeClient();

        var reply = await http.GetFromJsonAsync<EchoReply>("http://target/echo/no-trace", TargetEndpoints.Json, Ct);

        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", reply!.Headers["traceparent"]);
    }

    [Fact]
    public async Task Dapr_app_id_header_on_a_plain_path_invokes_the_target_and_is_not_forwarded()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Pair.CallerSidecar.HttpEndpoint}/echo/header-form?x=1")
        {
            Content = new StringContent("hello", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("dapr-app-id", "target");

        using var response = await http.SendAsync(request, Ct);
        var reply = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/echo/header-form", reply!.Path);
        Assert.Equal("?x=1", reply.Query);
        Assert.Equal("hello", reply.Body);
        Assert.False(reply.Headers.ContainsKey("dapr-app-id"));
    }

    [Fact]
    public async Task An_app_id_with_a_namespace_suffix_reaches_the_app()
    {
        using var http = new HttpClient();

        var reply = await http.GetFromJsonAsync<EchoReply>($"{Pair.CallerSidecar.HttpEndpoint}/v1.0/invoke/target.default/method/echo/ns", TargetEndpoints.Json, Ct);

        Assert.Equal("/echo/ns", reply!.Path);
        Assert.Equal("target", reply.Headers["dapr-callee-app-id"]);
    }

    [Fact]
    public async Task Invoking_its_own_app_id_goes_straight_to_the_app()
    {
        using var http = DaprClient.CreateInvokeHttpClient("caller", Pair.CallerSidecar.HttpEndpoint);

        var reply = await http.GetFromJsonAsync<EchoReply>("http://caller/echo/self", TargetEndpoints.Json, Ct);

        Assert.Equal("/echo/self", reply!.Path);
        Assert.Equal("caller", reply.Headers["dapr-caller-app-id"]);
        Assert.Equal("caller", reply.Headers["dapr-callee-app-id"]);
    }

    [Fact]
    public async Task Spoofed_caller_identity_headers_are_replaced()
    {
        using var http = Pair.InvokeClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://target/echo/spoof");
        request.Headers.Add("dapr-caller-app-id", "admin");

        using var response = await http.SendAsync(request, Ct);
        var reply = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        Assert.Equal("caller", reply!.Headers["dapr-caller-app-id"]);
    }

    [Fact]
    public async Task An_escaped_slash_in_the_method_reaches_the_app_as_a_path_separator_as_in_daprd()
    {
        using var http = new HttpClient();
        Uri Raw(string method) => new($"{Pair.CallerSidecar.HttpEndpoint}/v1.0/invoke/target/method/{method}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

        using var slash = await http.GetAsync(Raw("echo/orders%2F1"), Ct);
        using var traversal = await http.GetAsync(Raw("echo/a%2F..%2Fb"), Ct);
        using var literal = await http.GetAsync(Raw("echo/x%252Fy"), Ct);

        Assert.Equal("/echo/orders/1", (await slash.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct))!.Path);
        Assert.Equal("/echo/b", (await traversal.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct))!.Path);

        // %252F decodes once to the text "%2F", which stays one segment.
        Assert.Equal("/echo/x%2Fy", (await literal.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct))!.Path);
    }

    [Fact]
    public async Task Method_paths_are_cleaned_and_escaped_and_connection_nominated_headers_stay_behind()
    {
        // The hot path skips cleaning and escaping for plain methods; these are the cases that still need them.
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Pair.CallerSidecar.HttpEndpoint}/v1.0/invoke/target/method/echo/a%20b/c~d-e_f.g/");
        request.Headers.Connection.Add("x-hop-only");
        request.Headers.Add("x-hop-only", "secret");
        request.Headers.Add("x-kept", "kept");
        using var response = await http.SendAsync(request, Ct);
        var reply = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        using var channel = GrpcChannel.ForAddress(Pair.CallerSidecar.GrpcEndpoint);
        var dapr = new Autogen.Dapr.DaprClient(channel);
        var answer = await dapr.InvokeServiceAsync(new Autogen.InvokeServiceRequest
        {
            Id = "target",
            Message = new Autogen.InvokeRequest
            {
                Method = "echo/./x//y/../z",
                HttpExtension = new Autogen.HTTPExtension { Verb = Autogen.HTTPExtension.Types.Verb.Get },
            },
        }, cancellationToken: Ct);
        var cleaned = System.Text.Json.JsonSerializer.Deserialize<EchoReply>(answer.Data.Value.ToStringUtf8(), TargetEndpoints.Json)!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/echo/a b/c~d-e_f.g/", reply!.Path);
        Assert.Equal("kept", reply.Headers["x-kept"]);
        Assert.False(reply.Headers.ContainsKey("x-hop-only"));
        Assert.Equal("/echo/x/z", cleaned.Path);
    }

    [Fact]
    public async Task Unknown_app_id_answers_500_with_err_direct_invoke()
    {
        using var http = new HttpClient();

        using var response = await http.GetAsync($"{Pair.CallerSidecar.HttpEndpoint}/v1.0/invoke/nobody/method/echo/x", Ct);
        var error = await DaprError.ReadAsync(response, Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", error.ErrorCode);
        Assert.Equal("failed to invoke, id: nobody, err: couldn't find service: nobody", error.Message);
    }

    [Fact]
    public async Task Sdk_invoke_of_an_unknown_app_throws_with_the_sidecar_error()
    {
        using var client = Pair.CallerClient();

        var error = await Assert.ThrowsAsync<InvocationException>(() => client.InvokeMethodAsync(HttpMethod.Get, "nobody", "echo/x", Ct));

        Assert.Equal(HttpStatusCode.InternalServerError, error.Response?.StatusCode);
    }

    [Fact]
    public async Task Grpc_invoke_service_sends_the_message_data_to_the_http_app()
    {
        using var client = Pair.CallerClient();

        await client.InvokeMethodGrpcAsync("target", "sink", new StringValue { Value = "over grpc" }, Ct);

        Assert.Contains(Pair.Target.Bodies, b => TryParse(b) == "over grpc");
    }

    [Fact]
    public async Task Grpc_invoke_service_translates_the_http_extension_and_maps_error_statuses()
    {
        using var channel = GrpcChannel.ForAddress(Pair.CallerSidecar.GrpcEndpoint);
        var dapr = new Autogen.Dapr.DaprClient(channel);
        var get = new Autogen.InvokeServiceRequest
        {
            Id = "target",
            Message = new Autogen.InvokeRequest
            {
                Method = "echo/grpc",
                HttpExtension = new Autogen.HTTPExtension { Verb = Autogen.HTTPExtension.Types.Verb.Get, Querystring = "a=1&b=2" },
            },
        };

        var answer = await dapr.InvokeServiceAsync(get, cancellationToken: Ct);
        var reply = System.Text.Json.JsonSerializer.Deserialize<EchoReply>(answer.Data.Value.ToStringUtf8(), TargetEndpoints.Json)!;
        var notFound = await Assert.ThrowsAsync<RpcException>(async () => await dapr.InvokeServiceAsync(new Autogen.InvokeServiceRequest
        {
            Id = "target",
            Message = new Autogen.InvokeRequest { Method = "status/404", HttpExtension = new Autogen.HTTPExtension { Verb = Autogen.HTTPExtension.Types.Verb.Get } },
        }, cancellationToken: Ct));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await dapr.InvokeServiceAsync(new Autogen.InvokeServiceRequest
        {
            Id = "nobody",
            Message = new Autogen.InvokeRequest { Method = "x" },
        }, cancellationToken: Ct));

        Assert.Equal("GET", reply.Method);
        Assert.Equal("?a=1&b=2", reply.Query);
        Assert.StartsWith("application/json", answer.ContentType, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(StatusCode.Internal, unknown.StatusCode);
        Assert.Contains("couldn't find service: nobody", unknown.Status.Detail, StringComparison.Ordinal);
    }

    private static string? TryParse(byte[] body)
    {
        try
        {
            return StringValue.Parser.ParseFrom(body).Value;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
