using Spectre.Console;

namespace DaprLlm.Cli.Audit;

/// <summary>Shared output helpers: errors in red with a non-zero exit code, JSON pretty-printed, files written.</summary>
public static class CliOutput
{
    public static int Fail(IAnsiConsole console, AdminResponse response)
    {
        // Status 0: no answer at all (unreachable, timed out), so there is no HTTP status to show.
        if (response.Status == 0)
        {
            console.MarkupLineInterpolated($"[red]error[/]: {response.ErrorMessage}");
        }
        else
        {
            console.MarkupLineInterpolated($"[red]error[/] ({response.Status}): {response.ErrorMessage}");
        }

        return response.Status is 401 or 403 ? 3 : 2;
    }

    public static async Task<int> WriteAsync(IAnsiConsole console, string text, string? outFile, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(outFile))
        {
            console.Profile.Out.Writer.WriteLine(text);
            return 0;
        }

        // Exports hold personal data: a new file is readable by its owner only (0600), not by the umask's default 0644.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new StreamWriter(outFile, new System.Text.UTF8Encoding(false), options))
        {
            await file.WriteAsync(text.AsMemory(), cancellationToken);
        }


        console.MarkupLineInterpolated($"[green]wrote[/] {outFile} ({text.Length} characters)");
        return 0;
    }

    public static string Pretty(AdminResponse response) =>
        System.Text.Json.JsonSerializer.Serialize(response.Json, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
}
