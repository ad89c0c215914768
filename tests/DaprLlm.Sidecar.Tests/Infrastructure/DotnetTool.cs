using System.Diagnostics;

namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Runs a built .NET tool (its dll) as a real process on the dotnet host the tests run on.</summary>
public static class DotnetTool
{
    /// <summary>
    /// Runs <paramref name="dll"/> with <paramref name="args"/> and returns its exit code and output. <paramref name="guard"/>
    /// only stops a hung tool (the process tree is killed and the wait fails); it is not a timing assertion.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string dll, IEnumerable<string> args, TimeSpan guard, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(guard);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
