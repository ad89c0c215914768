namespace DaprLlm.AppHost.Infrastructure;

/// <summary>Where the repository's components and local data live, found from the AppHost folder.</summary>
public sealed record RepoLayout(string Root)
{
    public string LocalComponents => Path.Combine(Root, "components", "local");

    public string DaprConfig => Path.Combine(Root, "components", "config.yaml");

    /// <summary>A folder under .data/ (git-ignored) that survives restarts, e.g. Redis's append-only file.</summary>
    public string DataDirectory(string name)
    {
        var path = Path.Combine(Root, ".data", name);
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
