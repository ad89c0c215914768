namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes (tests never sleep a fixed time).</summary>
public static class Deadline
{
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or System.Net.Sockets.SocketException)
            {
                // not there yet
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#}s waiting for {what}");
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);
}
