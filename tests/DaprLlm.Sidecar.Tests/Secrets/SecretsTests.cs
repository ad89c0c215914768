using System.Net;
using System.Text.Json;
using Dapr;
using Dapr.Client;

namespace DaprLlm.Sidecar.Tests.Secrets;

/// <summary>secretstores.local.file and secretstores.local.env through the unchanged SDK and the HTTP API, and secretKeyRef.</summary>
public sealed class SecretsTests(SecretsSidecar fixture) : IClassFixture<SecretsSidecar>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task File_store_flattens_nested_secrets_and_answers_single_and_bulk_requests()
    {
        using var client = Client();

        var apiKey = await client.GetSecretAsync("filestore", "apiKey", cancellationToken: Ct);
        var nested = await client.GetSecretAsync("filestore", "db:password", cancellationToken: Ct);
        var arrayItem = await client.GetSecretAsync("filestore", "db:hosts:1", cancellationToken: Ct);
        var bulk = await client.GetBulkSecretAsync("filestore", cancellationToken: Ct);

        Assert.Equal("k-123", apiKey["apiKey"]);
        Assert.Equal("p@ss", nested["db:password"]);
        Assert.Equal("b", arrayItem["db:hosts:1"]);
        Assert.Equal("k-123", bulk["apiKey"]["apiKey"]);
        Assert.Equal("a", bulk["db:hosts:0"]["db:hosts:0"]);
    }

    [Fact]
    public async Task Multi_valued_file_store_returns_every_key_of_a_secret()
    {
        using var client = Client();

        var db = await client.GetSecretAsync("multistore", "db", cancellationToken: Ct);
        var single = await client.GetSecretAsync("multistore", "single", cancellationToken: Ct);

        Assert.Equal(new Dictionary<string, string> { ["user"] = "admin", ["password"] = "pw" }, db);
        Assert.Equal("one", single["single"]);
    }

    [Fact]
    public async Task Env_store_reads_prefixed_variables_and_never_dapr_ones()
    {
        using var client = Client();

        var token = await client.GetSecretAsync("envstore", "TOKEN", cancellationToken: Ct);
        var bulk = await client.GetBulkSecretAsync("envstore", cancellationToken: Ct);

        Assert.Equal("from-env", token["TOKEN"]);
        Assert.Equal("from-env", bulk["TOKEN"]["TOKEN"]);
        Assert.DoesNotContain(bulk.Values.SelectMany(v => v.Values), v => v == "hidden");
    }

    [Fact]
    public async Task Http_api_returns_secrets_and_daprd_errors()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Sidecar.HttpEndpoint) };

        using var found = await http.GetAsync("/v1.0/secrets/multistore/db", Ct);
        using var bulk = await http.GetAsync("/v1.0/secrets/multistore/bulk", Ct);
        using var missing = await http.GetAsync("/v1.0/secrets/filestore/nope", Ct);
        using var unknownStore = await http.GetAsync("/v1.0/secrets/nostore/apiKey", Ct);

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal("pw", JsonDocument.Parse(await found.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("password").GetString());
        Assert.Equal("one", JsonDocument.Parse(await bulk.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("single").GetProperty("single").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, missing.StatusCode);
        Assert.Equal("ERR_SECRET_GET", ErrorCode(await missing.Content.ReadAsStringAsync(Ct)));
        Assert.Equal(HttpStatusCode.Unauthorized, unknownStore.StatusCode);
        Assert.Equal("ERR_SECRET_STORE_NOT_FOUND", ErrorCode(await unknownStore.Content.ReadAsStringAsync(Ct)));
    }

    [Fact]
    public async Task Secret_names_in_the_path_are_query_unescaped_as_daprd_does()
    {
        using var http = new HttpClient();

        // Sent exactly as written: .NET's Uri would otherwise rewrite the escapes.
        using var slash = await http.GetAsync(RawUri("/v1.0/secrets/multistore/team%2Ftoken"), Ct);
        using var plus = await http.GetAsync(RawUri("/v1.0/secrets/multistore/a+b"), Ct);

        Assert.Equal(HttpStatusCode.OK, slash.StatusCode);
        Assert.Equal("t-1", JsonDocument.Parse(await slash.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("team/token").GetString());
        Assert.Equal(HttpStatusCode.OK, plus.StatusCode);
        Assert.Equal("spaced", JsonDocument.Parse(await plus.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("a b").GetString());
    }

    [Fact]
    public async Task A_missing_secret_over_grpc_is_a_dapr_exception()
    {
        using var client = Client();

        await Assert.ThrowsAsync<DaprException>(() => client.GetSecretAsync("filestore", "nope", cancellationToken: Ct));
    }

    [Fact]
    public async Task A_component_reads_its_metadata_through_secretKeyRef()
    {
        using var client = Client();

        await client.SaveStateAsync("statestore", "k", "v", cancellationToken: Ct);

        Assert.True(File.Exists(fixture.DatabaseFile), "the SQLite store should use the connection string held in the secret store");
        Assert.Equal("v", await client.GetStateAsync<string>("statestore", "k", cancellationToken: Ct));
    }

    private DaprClient Client() =>
        new DaprClientBuilder().UseHttpEndpoint(fixture.Sidecar.HttpEndpoint).UseGrpcEndpoint(fixture.Sidecar.GrpcEndpoint).Build();

    private static string? ErrorCode(string body) => JsonDocument.Parse(body).RootElement.GetProperty("errorCode").GetString();

    private Uri RawUri(string path) =>
        new(fixture.Sidecar.HttpEndpoint + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
}
