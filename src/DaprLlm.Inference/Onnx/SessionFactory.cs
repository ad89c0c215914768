using Microsoft.ML.OnnxRuntime;

namespace DaprLlm.Inference.Onnx;

/// <summary>
/// Creates an ONNX Runtime session on the first execution provider that works. Asking for CUDA where CUDA is
/// absent throws <see cref="OnnxRuntimeException"/> (FACTS.md), and GetAvailableProviders() lists CUDA even
/// without a GPU, so trying is the only reliable probe.
/// </summary>
public static partial class SessionFactory
{
    public static (InferenceSession Session, string ExecutionProvider) Create(
        string modelPath, IReadOnlyList<string> preferences, int intraOpThreads, ILogger logger, bool allowSpinning = true)
    {
        if (!File.Exists(modelPath))
        {
            throw new ModelLoadException($"model file '{modelPath}' does not exist");
        }

        Exception? last = null;
        foreach (var provider in preferences)
        {
            var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            if (intraOpThreads > 0)
            {
                options.IntraOpNumThreads = intraOpThreads;
            }

            if (!allowSpinning)
            {
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            }

            try
            {
                if (provider == Catalog.ExecutionProviderNames.Cuda)
                {
                    options.AppendExecutionProvider_CUDA(0);
                }

                var session = new InferenceSession(modelPath, options);
                LogProvider(logger, modelPath, provider);
                return (session, provider);
            }
            catch (OnnxRuntimeException e) when (provider == Catalog.ExecutionProviderNames.Cuda)
            {
                // No CUDA runtime or GPU here: fall through to the next preference (normally CPU).
                LogFallback(logger, provider, e.Message);
                last = e;
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException($"'{modelPath}' is not a loadable ONNX model: {e.Message}", e);
            }
            finally
            {
                options.Dispose();
            }
        }

        throw new ModelLoadException($"no execution provider of [{string.Join(", ", preferences)}] could load '{modelPath}'", last!);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {ModelPath} on execution provider {Provider}")]
    private static partial void LogProvider(ILogger logger, string modelPath, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution provider {Provider} unavailable, falling back: {Reason}")]
    private static partial void LogFallback(ILogger logger, string provider, string reason);
}
