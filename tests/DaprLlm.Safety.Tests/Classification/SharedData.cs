namespace DaprLlm.Safety.Tests.Classification;

/// <summary>The shared labelled data beside the repository (../shared/data); a plain clone does not have it.</summary>
internal static class SharedData
{
    public static string Folder
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("DAPRLLM_SAFETY_DATA");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }

            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DaprLlm.sln")))
            {
                directory = directory.Parent;
            }

            return Path.GetFullPath(Path.Combine(directory?.FullName ?? Directory.GetCurrentDirectory(), "..", "shared", "data"));
        }
    }

    /// <summary>The path of <paramref name="file"/>, or a skip with the reason when the data is absent.</summary>
    public static string FileOrSkip(string file)
    {
        var path = Path.Combine(Folder, file);
        if (!File.Exists(path))
        {
            Assert.Skip($"{file} not found in {Folder}: the shared evaluation data lives beside the repository (set DAPRLLM_SAFETY_DATA to point elsewhere).");
        }

        return path;
    }
}
