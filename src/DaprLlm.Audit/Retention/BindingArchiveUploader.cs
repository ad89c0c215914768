using Dapr;
using Dapr.Client;

namespace DaprLlm.Audit.Retention;

/// <summary>Where archive segments go beyond the local folder (production: a blob container).</summary>
public interface IArchiveUploader
{
    /// <summary>Stores a segment file (and its manifest) under <c>{region}/{fileName}</c>; overwriting is harmless (a rerun).</summary>
    Task UploadAsync(string region, string localDirectory, string fileName, CancellationToken cancellationToken);

    Task DeleteAsync(string region, string fileName, CancellationToken cancellationToken);
}

/// <summary>
/// Uploads segments through a Dapr output binding: operation <c>create</c> with the object name in the metadata keys
/// blob stores read (<c>blobName</c> for Azure Blob Storage, <c>key</c> for S3, <c>path</c> for bindings.http), and
/// <c>delete</c> when the archive period ends. The local folder stays the staging copy that verify reads.
/// </summary>
public sealed class BindingArchiveUploader(DaprClient dapr, string binding) : IArchiveUploader
{
    public async Task UploadAsync(string region, string localDirectory, string fileName, CancellationToken cancellationToken)
    {
        // The manifest goes last: its presence in the container says the segment beside it is complete.
        foreach (var (name, contentType) in new[] { (fileName, "application/gzip"), (fileName + ".manifest.json", "application/json") })
        {
            var request = new BindingRequest(binding, "create") { Data = await File.ReadAllBytesAsync(Path.Combine(localDirectory, name), cancellationToken) };
            AddName(request, region + "/" + name);
            request.Metadata["contentType"] = contentType;
            request.Metadata["Content-Type"] = contentType;
            await dapr.InvokeBindingAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// Deletes a segment and its manifest. An object already gone counts as deleted: a run interrupted between these
    /// deletes and the database's tombstone reruns them, and must not fail on what it removed last time.
    /// </summary>
    public async Task DeleteAsync(string region, string fileName, CancellationToken cancellationToken)
    {
        foreach (var name in new[] { fileName + ".manifest.json", fileName })
        {
            var request = new BindingRequest(binding, "delete");
            AddName(request, region + "/" + name);
            // bindings.http then answers every status in metadata instead of failing, so a 404 can be told apart.
            request.Metadata["errorIfNot2XX"] = "false";
            BindingResponse response;
            try
            {
                response = await dapr.InvokeBindingAsync(request, cancellationToken);
            }
            catch (DaprException e) when (IsNotFound(e))
            {
                continue;
            }

            if (response.Metadata.TryGetValue("statusCode", out var status) && !status.StartsWith('2') && status != "404")
            {
                throw new InvalidOperationException($"deleting {region}/{name} through binding '{binding}' answered {status}");
            }
        }
    }

    // Blob bindings that ignore errorIfNot2XX report a missing object as an error (Azure: BlobNotFound, S3: NoSuchKey).
    private static bool IsNotFound(Exception e) =>
        e.ToString() is var text && (text.Contains("BlobNotFound", StringComparison.Ordinal) || text.Contains("NoSuchKey", StringComparison.Ordinal)
            || text.Contains("status code 404", StringComparison.Ordinal));

    private static void AddName(BindingRequest request, string name)
    {
        request.Metadata["blobName"] = name;
        request.Metadata["key"] = name;
        request.Metadata["path"] = name;
    }
}
