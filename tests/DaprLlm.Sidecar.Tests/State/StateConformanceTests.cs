using System.Net;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Dapr.Common.Exceptions;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.State;

/// <summary>The unchanged Dapr SDK and raw HTTP against sidecars backed by in-memory, Redis and SQLite stores.</summary>
public sealed class StateConformanceTests(StateSidecars sidecars) : IClassFixture<StateSidecars>
{
    public static TheoryData<string> Kinds => ["in-memory", "redis", "sqlite"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Order(string Id, int Quantity, string[] Tags);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Saves_reads_and_deletes_a_value_through_the_sdk(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var key = Key();
        var order = new Order("o-1", 3, ["a", "b"]);

        await client.SaveStateAsync("statestore", key, order, cancellationToken: Ct);
        var (read, etag) = await client.GetStateAndETagAsync<Order>("statestore", key, cancellationToken: Ct);
        await client.DeleteStateAsync("statestore", key, cancellationToken: Ct);
        var afterDelete = await client.GetStateAsync<Order>("statestore", key, cancellationToken: Ct);

        Assert.Equal(order.Id, read.Id);
        Assert.Equal(order.Tags, read.Tags);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Null(afterDelete);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bulk_get_returns_values_with_etags_and_empty_items_for_missing_keys(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var (k1, k2, missing) = (Key(), Key(), Key());
        await client.SaveStateAsync("statestore", k1, "one", cancellationToken: Ct);
        await client.SaveStateAsync("statestore", k2, "two", cancellationToken: Ct);

        var items = await client.GetBulkStateAsync("statestore", [k1, k2, missing], parallelism: 2, cancellationToken: Ct);

        Assert.Equal([k1, k2, missing], items.Select(i => i.Key));
        Assert.Equal("\"one\"", items[0].Value);
        Assert.Equal("\"two\"", items[1].Value);
        Assert.False(string.IsNullOrEmpty(items[0].ETag));
        Assert.True(string.IsNullOrEmpty(items[2].Value));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Bulk_save_and_bulk_delete_handle_every_key(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var keys = new[] { Key(), Key(), Key() };
        await client.SaveBulkStateAsync("statestore", keys.Select(k => new SaveStateItem<string>(k, "v-" + k, null!)).ToList(), Ct);
        var saved = await client.GetBulkStateAsync("statestore", keys, parallelism: 1, cancellationToken: Ct);

        await client.DeleteBulkStateAsync("statestore", keys.Select(k => new BulkDeleteStateItem(k, null!)).ToList(), Ct);
        var deleted = await client.GetBulkStateAsync("statestore", keys, parallelism: 1, cancellationToken: Ct);

        Assert.Equal(keys.Select(k => $"\"v-{k}\""), saved.Select(i => i.Value));
        Assert.All(deleted, i => Assert.True(string.IsNullOrEmpty(i.Value)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_transaction_applies_upserts_and_deletes_together(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var (kept, removed) = (Key(), Key());
        await client.SaveStateAsync("statestore", removed, 1, cancellationToken: Ct);

        await client.ExecuteStateTransactionAsync("statestore",
        [
            new StateTransactionRequest(kept, JsonSerializer.SerializeToUtf8Bytes(42), StateOperationType.Upsert),
            new StateTransactionRequest(removed, null, StateOperationType.Delete),
        ], cancellationToken: Ct);

        Assert.Equal(42, await client.GetStateAsync<int>("statestore", kept, cancellationToken: Ct));
        Assert.Equal(0, await client.GetStateAsync<int>("statestore", removed, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_transaction_with_one_stale_etag_changes_nothing(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var (a, b) = (Key(), Key());
        await client.SaveStateAsync("statestore", a, "a1", cancellationToken: Ct);
        await client.SaveStateAsync("statestore", b, "b1", cancellationToken: Ct);
        var (_, staleETag) = await client.GetStateAndETagAsync<string>("statestore", a, cancellationToken: Ct);
        await client.SaveStateAsync("statestore", a, "a2", cancellationToken: Ct);

        await Assert.ThrowsAsync<DaprException>(() => client.ExecuteStateTransactionAsync("statestore",
        [
            new StateTransactionRequest(b, JsonSerializer.SerializeToUtf8Bytes("b2"), StateOperationType.Upsert),
            new StateTransactionRequest(a, JsonSerializer.SerializeToUtf8Bytes("a3"), StateOperationType.Upsert, staleETag),
        ], cancellationToken: Ct));

        Assert.Equal("a2", await client.GetStateAsync<string>("statestore", a, cancellationToken: Ct));
        Assert.Equal("b1", await client.GetStateAsync<string>("statestore", b, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_stale_etag_is_refused_with_first_write_and_last_write_and_the_current_one_wins(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var key = Key();
        await client.SaveStateAsync("statestore", key, 1, cancellationToken: Ct);
        var (_, first) = await client.GetStateAndETagAsync<int>("statestore", key, cancellationToken: Ct);
        Assert.True(await client.TrySaveStateAsync("statestore", key, 2, first, cancellationToken: Ct));
        var (_, current) = await client.GetStateAndETagAsync<int>("statestore", key, cancellationToken: Ct);

        var staleFirstWrite = await client.TrySaveStateAsync("statestore", key, 3, first,
            new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }, cancellationToken: Ct);
        var staleLastWrite = await client.TrySaveStateAsync("statestore", key, 4, first,
            new StateOptions { Concurrency = ConcurrencyMode.LastWrite }, cancellationToken: Ct);
        var staleDelete = await client.TryDeleteStateAsync("statestore", key, first, cancellationToken: Ct);
        var currentFirstWrite = await client.TrySaveStateAsync("statestore", key, 5, current,
            new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }, cancellationToken: Ct);

        Assert.NotEqual(first, current);
        Assert.False(staleFirstWrite);
        Assert.False(staleLastWrite);
        Assert.False(staleDelete);
        Assert.True(currentFirstWrite);
        Assert.Equal(5, await client.GetStateAsync<int>("statestore", key, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_value_saved_with_ttlInSeconds_expires(string kind)
    {
        using var client = StateSidecars.Client(sidecars[kind]);
        var (expiring, lasting) = (Key(), Key());

        await client.SaveStateAsync("statestore", expiring, "soon gone", metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "2" }, cancellationToken: Ct);
        await client.SaveStateAsync("statestore", lasting, "stays", cancellationToken: Ct);
        Assert.Equal("soon gone", await client.GetStateAsync<string>("statestore", expiring, cancellationToken: Ct));

        await Deadline.WaitUntilAsync(async () => await client.GetStateAsync<string>("statestore", expiring, cancellationToken: Ct) is null,
            TimeSpan.FromSeconds(10), "the value to expire");
        Assert.Equal("stays", await client.GetStateAsync<string>("statestore", lasting, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_http_api_answers_with_daprd_statuses_headers_and_error_codes(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecars[kind].HttpEndpoint) };
        var key = Key();

        using var missing = await http.GetAsync($"/v1.0/state/statestore/{key}", Ct);
        using var saved = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{key}}}","value":{"n":1,"s":"x"}}]"""), Ct);
        using var read = await http.GetAsync($"/v1.0/state/statestore/{key}", Ct);
        var etag = read.Headers.ETag?.Tag ?? string.Join("", read.Headers.GetValues("ETag"));
        using var stale = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{key}}}","value":2,"etag":"{{{etag}}}9"}]"""), Ct);
        using var invalid = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{key}}}","value":2,"etag":"not-a-version"}]"""), Ct);
        using var firstWrite = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{key}}}","value":3,"options":{"concurrency":"first-write"}}]"""), Ct);
        using var staleDelete = await Send(http, HttpMethod.Delete, $"/v1.0/state/statestore/{key}", ifMatch: etag + "9");
        using var unknownStore = await http.GetAsync($"/v1.0/state/nostore/{key}", Ct);
        using var malformed = await http.PostAsync("/v1.0/state/statestore", Json("{not json"), Ct);
        using var noKey = await http.PostAsync("/v1.0/state/statestore", Json("""[{"value":1}]"""), Ct);
        using var badOperation = await http.PostAsync("/v1.0/state/statestore/transaction", Json($$$"""{"operations":[{"operation":"merge","request":{"key":"{{{key}}}"}}]}"""), Ct);
        using var illegalKey = await http.GetAsync("/v1.0/state/statestore/a||b", Ct);
        using var bulk = await http.PostAsync("/v1.0/state/statestore/bulk", Json($$$"""{"keys":["{{{key}}}","{{{key}}}-none"]}"""), Ct);
        using var deleted = await Send(http, HttpMethod.Delete, $"/v1.0/state/statestore/{key}", ifMatch: etag);

        Assert.Equal(HttpStatusCode.NoContent, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("application/json", read.Content.Headers.ContentType?.MediaType);
        using (var body = JsonDocument.Parse(await read.Content.ReadAsStringAsync(Ct)))
        {
            Assert.Equal(1, body.RootElement.GetProperty("n").GetInt32());
            Assert.Equal("x", body.RootElement.GetProperty("s").GetString());
        }

        Assert.False(string.IsNullOrEmpty(etag));
        await AssertError(stale, HttpStatusCode.Conflict, "ERR_STATE_SAVE");

        // SQLite ETags are UUIDs, so any string is a well-formed (mismatching) ETag there, as in daprd.
        await AssertError(invalid, kind == "sqlite" ? HttpStatusCode.Conflict : HttpStatusCode.BadRequest, "ERR_STATE_SAVE");
        await AssertError(firstWrite, HttpStatusCode.Conflict, "ERR_STATE_SAVE");
        await AssertError(staleDelete, HttpStatusCode.Conflict, "ERR_STATE_DELETE");
        await AssertError(unknownStore, HttpStatusCode.BadRequest, "ERR_STATE_STORE_NOT_FOUND");
        await AssertError(malformed, HttpStatusCode.BadRequest, "ERR_MALFORMED_REQUEST");
        await AssertError(noKey, HttpStatusCode.BadRequest, "ERR_MALFORMED_REQUEST");
        await AssertError(badOperation, HttpStatusCode.BadRequest, "ERR_NOT_SUPPORTED_STATE_OPERATION");
        await AssertError(illegalKey, HttpStatusCode.BadRequest, "ERR_MALFORMED_REQUEST");
        using (var items = JsonDocument.Parse(await bulk.Content.ReadAsStringAsync(Ct)))
        {
            var first = items.RootElement[0];
            Assert.Equal(key, first.GetProperty("key").GetString());
            Assert.Equal(1, first.GetProperty("data").GetProperty("n").GetInt32());
            Assert.Equal(etag, first.GetProperty("etag").GetString());
            Assert.False(items.RootElement[1].TryGetProperty("data", out _));
        }

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_ttlInSeconds_beyond_int32_is_refused_with_daprd_s_error_and_a_transaction_holding_it_writes_nothing(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecars[kind].HttpEndpoint) };
        using var client = StateSidecars.Client(sidecars[kind]);
        var (a, b) = (Key(), Key());

        using var save = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{a}}}","value":1,"metadata":{"ttlInSeconds":"1000000000000"}}]"""), Ct);
        using var transaction = await http.PostAsync("/v1.0/state/statestore/transaction", Json($$$"""
            {"operations":[
              {"operation":"upsert","request":{"key":"{{{a}}}","value":"a1"}},
              {"operation":"upsert","request":{"key":"{{{b}}}","value":"b1","metadata":{"ttlInSeconds":"500000000000"} } }]}
            """), Ct);

        await AssertError(save, HttpStatusCode.InternalServerError, "ERR_STATE_SAVE");
        await AssertError(transaction, HttpStatusCode.InternalServerError, "ERR_STATE_TRANSACTION");
        Assert.Null(await client.GetStateAsync<string>("statestore", a, cancellationToken: Ct));
        Assert.Null(await client.GetStateAsync<string>("statestore", b, cancellationToken: Ct));
    }

    [Theory]
    [InlineData("in-memory")]
    [InlineData("sqlite")]
    public async Task A_metadata_query_parameter_wins_over_the_item_s_own_metadata_on_save_and_in_transactions(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecars[kind].HttpEndpoint) };
        var (a, b) = (Key(), Key());

        using var save = await http.PostAsync("/v1.0/state/statestore?metadata.ttlInSeconds=3600",
            Json($$$"""[{"key":"{{{a}}}","value":1,"metadata":{"ttlInSeconds":"60"}}]"""), Ct);
        using var transaction = await http.PostAsync("/v1.0/state/statestore/transaction?metadata.ttlInSeconds=3600", Json($$$"""
            {"operations":[{"operation":"upsert","request":{"key":"{{{b}}}","value":2,"metadata":{"ttlInSeconds":"60"} } }]}
            """), Ct);

        Assert.Equal(HttpStatusCode.NoContent, save.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, transaction.StatusCode);
        foreach (var key in new[] { a, b })
        {
            using var read = await http.GetAsync($"/v1.0/state/statestore/{key}", Ct);
            var expires = DateTimeOffset.Parse(read.Headers.GetValues("metadata.ttlExpireTime").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(expires > DateTimeOffset.UtcNow.AddMinutes(30), $"{key} expires at {expires:O}: the item's 60 s won over the query's 3600 s");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_ttlInSeconds_below_minus_one_is_refused_by_sqlite_and_means_no_expiry_for_redis_and_in_memory(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecars[kind].HttpEndpoint) };
        using var client = StateSidecars.Client(sidecars[kind]);
        var (a, b) = (Key(), Key());

        using var save = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{a}}}","value":"a1","metadata":{"ttlInSeconds":"-5"}}]"""), Ct);
        using var minusOne = await http.PostAsync("/v1.0/state/statestore", Json($$$"""[{"key":"{{{b}}}","value":"b1","metadata":{"ttlInSeconds":"-1"}}]"""), Ct);

        // components-contrib: state.sqlite parses with ParseTTL (-1 or greater); state.redis and state.in-memory take any integer.
        if (kind == "sqlite")
        {
            await AssertError(save, HttpStatusCode.InternalServerError, "ERR_STATE_SAVE");
            Assert.Contains("must be -1 or greater", await save.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            Assert.Null(await client.GetStateAsync<string>("statestore", a, cancellationToken: Ct));
        }
        else
        {
            Assert.Equal(HttpStatusCode.NoContent, save.StatusCode);
            Assert.Equal("a1", await client.GetStateAsync<string>("statestore", a, cancellationToken: Ct));
        }

        Assert.Equal(HttpStatusCode.NoContent, minusOne.StatusCode);
        Assert.Equal("b1", await client.GetStateAsync<string>("statestore", b, cancellationToken: Ct));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_http_transaction_with_a_stale_etag_fails_whole_with_err_state_transaction(string kind)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecars[kind].HttpEndpoint) };
        using var client = StateSidecars.Client(sidecars[kind]);
        var (a, b) = (Key(), Key());
        await client.SaveStateAsync("statestore", a, "a1", cancellationToken: Ct);
        var (_, etag) = await client.GetStateAndETagAsync<string>("statestore", a, cancellationToken: Ct);
        await client.SaveStateAsync("statestore", a, "a2", cancellationToken: Ct);

        using var response = await http.PostAsync("/v1.0/state/statestore/transaction", Json($$$"""
            {"operations":[
              {"operation":"upsert","request":{"key":"{{{b}}}","value":"b1"}},
              {"operation":"delete","request":{"key":"{{{a}}}","etag":"{{{etag}}}"}}]}
            """), Ct);

        await AssertError(response, HttpStatusCode.InternalServerError, "ERR_STATE_TRANSACTION");
        Assert.Null(await client.GetStateAsync<string>("statestore", b, cancellationToken: Ct));
        Assert.Equal("a2", await client.GetStateAsync<string>("statestore", a, cancellationToken: Ct));
    }

    [Fact]
    public async Task Keys_in_the_http_path_are_query_unescaped_as_daprd_does_and_a_bad_escape_is_400()
    {
        var sidecar = sidecars["in-memory"];
        using var client = StateSidecars.Client(sidecar);
        using var http = new HttpClient();
        var id = Key();
        await client.SaveStateAsync("statestore", $"{id}/orders/1", "slash", cancellationToken: Ct);
        await client.SaveStateAsync("statestore", $"{id} b", "space", cancellationToken: Ct);
        await client.SaveStateAsync("statestore", $"{id}%", "percent", cancellationToken: Ct);
        Uri Raw(string path) => new(sidecar.HttpEndpoint + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

        using var slash = await http.GetAsync(Raw($"/v1.0/state/statestore/{id}%2Forders%2F1"), Ct);
        using var plus = await http.GetAsync(Raw($"/v1.0/state/statestore/{id}+b"), Ct);
        using var percent = await http.GetAsync(Raw($"/v1.0/state/statestore/{id}%25"), Ct);
        using var bad = await http.GetAsync(Raw($"/v1.0/state/statestore/{id}%zz"), Ct);
        using var deleted = await http.DeleteAsync(Raw($"/v1.0/state/statestore/{id}%2Forders%2F1"), Ct);

        Assert.Equal("\"slash\"", await slash.Content.ReadAsStringAsync(Ct));
        Assert.Equal("\"space\"", await plus.Content.ReadAsStringAsync(Ct));
        Assert.Equal("\"percent\"", await percent.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("failed to unescape request parameter \"key\". Error: invalid URL escape \"%zz\"\n", await bad.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Null(await client.GetStateAsync<string>("statestore", $"{id}/orders/1", cancellationToken: Ct));
    }

    [Fact]
    public async Task A_missing_store_is_invalid_argument_over_grpc_with_daprd_s_error_info()
    {
        using var client = StateSidecars.Client(sidecars["in-memory"]);

        var error = await Assert.ThrowsAsync<DaprException>(() => client.SaveStateAsync("nostore", Key(), 1, cancellationToken: Ct));

        var rpc = Assert.IsType<Grpc.Core.RpcException>(error.InnerException);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Contains("nostore", rpc.Status.Detail, StringComparison.Ordinal);

        // daprd's kit error: a google.rpc.Status with an ErrorInfo detail in grpc-status-details-bin.
        Assert.True(error.TryGetExtendedErrorInfo(out var extended));
        Assert.Equal((int)Grpc.Core.StatusCode.InvalidArgument, extended!.Code);
        var info = GrpcErrorInfo.Read(error);
        Assert.Equal("DAPR_STATE_NOT_FOUND", info.Reason);
        Assert.Equal("dapr.io", info.Domain);
        Assert.Equal(StateSidecars.AppId("in-memory"), info.Metadata["appID"]);
    }

    private static string Key() => "k-" + Guid.NewGuid().ToString("N")[..12];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string path, string ifMatch)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return await http.SendAsync(request, Ct);
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string errorCode)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(errorCode, json.RootElement.GetProperty("errorCode").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
    }
}
