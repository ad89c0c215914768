namespace DaprLlm.Sidecar.Tests.Infrastructure;

/// <summary>Locates the repository and the built sidecar.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The sidecar built by the project reference, same configuration as the tests.</summary>
    public static string SidecarDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var path = Path.Combine(Root, "src", "DaprLlm.Sidecar", "bin", configuration, "net10.0", "daprllm-sidecar.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the sidecar first", path);
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DaprLlm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("DaprLlm.sln not found above " + AppContext.BaseDirectory);
    }
}
