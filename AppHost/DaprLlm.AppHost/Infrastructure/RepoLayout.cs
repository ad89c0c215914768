namespace DaprLlm.AppHost.Infrastructure;

/// <summary>Where the repository's components and local data live, found from the AppHost folder.</summary>
public sealed record RepoLayout(string Root)
{
    public string LocalComponents => Path.Combine(Root, "components", "local");

    public string DaprConfig => Path.Combine(Root, "components", "config.yaml");

    /// <summary>
    /// A folder under .data/ (git-ignored) that survives restarts, e.g. Redis's append-only file.
    /// DAPRLLM_DATA_DIR moves all of it elsewhere (tests give each run a fresh, empty folder).
    /// </summary>
    public string DataDirectory(string name)
    {
        var root = Environment.GetEnvironmentVariable("DAPRLLM_DATA_DIR") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Root, ".data");
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public static RepoLayout Find(string appHostDirectory)
    {
        var dir = new DirectoryInfo(appHostDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DaprLlm.sln")))
        {
            dir = dir.Parent;
        }

        return dir is null
            ? throw new InvalidOperationException($"DaprLlm.sln not found above {appHostDirectory}")
            : new RepoLayout(dir.FullName);
    }
}
