using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Invocation;

/// <summary>
/// The sidecar-to-sidecar hop over the target sidecar's Unix domain socket (advertised in its registry entry): calls
/// behave as over TCP, event streams still arrive chunk by chunk, a peer without a socket is called over TCP, and the
/// socket files of a run are cleaned up.
/// </summary>
public sealed class InternalSocketTests(InvocationPairFixture fixture) : IClassFixture<InvocationPairFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_invocation_between_two_sidecars_goes_over_the_target_sidecars_socket_and_round_trips_unchanged()
    {
        var pair = fixture.Pair;
        var socket = SocketPathOf(pair, "target");
        Assert.NotNull(socket);
        Assert.True(IsSocket(socket), $"{socket} is not a listening socket");

        using var http = pair.InvokeClient();
        using var response = await http.PostAsync("http://target/echo/over/socket?x=1", new StringContent("hello over the socket"), Ct);
        var echo = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/echo/over/socket", echo!.Path);
        Assert.Equal("?x=1", echo.Query);
        Assert.Equal("hello over the socket", echo.Body);
        Assert.Equal("caller", echo.Headers["dapr-caller-app-id"]);
        Assert.Equal("from-target", response.Headers.GetValues("x-echo").Single());

        // The caller's sidecar says so, and the kernel shows the target accepted a connection on that path
        // (listener + accepted connection, kept open by the caller's connection pool).
        await Deadline.WaitUntilAsync(() => pair.CallerSidecar.Output.Contains($"over unix socket {socket}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "the caller sidecar to log its unix socket connection");
        Assert.True(UnixSocketEntries(socket) >= 2, $"expected an accepted connection on {socket}:{Environment.NewLine}{pair.Diagnostics}");
    }

    [Fact]
    public async Task Server_sent_events_still_arrive_chunk_by_chunk_over_the_socket()
    {
        var pair = fixture.Pair;
        var key = Guid.NewGuid().ToString("N");
        using var http = pair.InvokeClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://target/sse/{key}");
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);
        using var reader = new StreamReader(stream);
        using var firstLineTimeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        firstLineTimeout.CancelAfter(TimeSpan.FromSeconds(10));
        var first = await reader.ReadLineAsync(firstLineTimeout.Token);

        Assert.False(pair.Target.Gate(key).Task.IsCompleted);
        Assert.Equal("data: first", first);
        pair.Target.Gate(key).SetResult();
        Assert.Contains("data: second", await reader.ReadToEndAsync(Ct), StringComparison.Ordinal);
        Assert.Contains($"over unix socket {SocketPathOf(pair, "target")}", pair.CallerSidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_sidecar_without_a_socket_is_called_over_tcp()
    {
        await using var pair = await InvocationPair.StartAsync(
            targetSettings: s => s with { ExtraArgs = ["--internal-socket", "false"] });
        Assert.Null(SocketPathOf(pair, "target"));

        using var http = pair.InvokeClient();
        using var response = await http.PostAsync("http://target/echo/tcp", new StringContent("over tcp"), Ct);
        var echo = await response.Content.ReadFromJsonAsync<EchoReply>(TargetEndpoints.Json, Ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("over tcp", echo!.Body);
        Assert.DoesNotContain("over unix socket", pair.CallerSidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stale_socket_files_are_removed_at_start_and_a_stopped_sidecar_removes_its_own()
    {
        // A socket file left by a sidecar that was killed (its pid no longer runs) in a run's registry folder.
        using var folder = new TempFolder("daprllm-socket");
        var registry = folder.Sub("registry");
        var stale = Path.Combine(folder.Sub("registry/sockets"), $"{DeadPid()}-1234.sock");
        await File.WriteAllTextAsync(stale, "", Ct);

        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("socket-owner", folder.Sub("components"), registry));
        var entry = Directory.GetFiles(Path.Combine(registry, "socket-owner"), "*.json").Single();
        var socket = SocketPathOf(registry, "socket-owner");
        Assert.NotNull(socket);
        Assert.True(IsSocket(socket));
        Assert.False(File.Exists(stale), "the stale socket file was not removed at start");

        // SIGTERM, as an orchestrator stops daprd; the pid is in the registry entry's name (<pid>-<port>.json).
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Path.GetFileNameWithoutExtension(entry).Split('-')[0]]))
        {
            await kill.WaitForExitAsync(Ct);
        }

        await Deadline.WaitUntilAsync(() => sidecar.HasExited, TimeSpan.FromSeconds(20), "the sidecar to stop");
        Assert.False(File.Exists(socket), $"{socket} is still there after shutdown:{Environment.NewLine}{sidecar.Output}");
    }

    private static string? SocketPathOf(InvocationPair pair, string appId) => SocketPathOf(Path.Combine(pair.Folder.Path, "registry"), appId);

    private static string? SocketPathOf(string registry, string appId)
    {
        using var entry = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(registry, appId), "*.json").Single()));
        return entry.RootElement.TryGetProperty("SocketPath", out var path) && path.ValueKind == JsonValueKind.String ? path.GetString() : null;
    }

    private static bool IsSocket(string path) => File.Exists(path) && UnixSocketEntries(path) >= 1;

    // Entries in /proc/net/unix bound to this path: the listener and every connection it accepted.
    private static int UnixSocketEntries(string path) =>
        File.ReadAllLines("/proc/net/unix").Count(l => l.EndsWith(" " + path, StringComparison.Ordinal));

    private static int DeadPid()
    {
        var pid = 4_000_000;
        while (Directory.Exists($"/proc/{pid}"))
        {
            pid++;
        }

        return pid;
    }
}
