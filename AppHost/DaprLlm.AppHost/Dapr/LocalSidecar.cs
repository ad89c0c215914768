namespace DaprLlm.AppHost.Dapr;

/// <summary>
/// The local sidecar as built beside this AppHost (the project reference builds it with the same configuration).
/// It runs as an executable from the repository root, like daprd, so relative paths in component files resolve alike.
/// </summary>
public static class LocalSidecar
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public static string DllPath
    {
        get
        {
            var project = new Projects.DaprLlm_Sidecar().ProjectPath;
            var dll = Path.Combine(Path.GetDirectoryName(project)!, "bin", Configuration, "net10.0", "daprllm-sidecar.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"The local sidecar is not built: {dll}. Build the AppHost (it builds the sidecar).", dll);
        }
    }
}
