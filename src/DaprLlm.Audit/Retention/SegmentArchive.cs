using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using DaprLlm.Audit.Trail;

namespace DaprLlm.Audit.Retention;

/// <summary>
/// Archive segments of one region in a folder: <c>segment-{first}-{last}.jsonl.gz</c> (one record per line, exactly as
/// chained) beside a manifest of its hashes. Written to a temporary name and renamed, so a crash never leaves a
/// half-written segment under the final name. (Production: the same files in a blob container via a Dapr binding.)
/// </summary>
public sealed class SegmentArchive(string directory)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Directory { get; } = directory;

    public static string FileNameFor(long firstSeq, long lastSeq) => $"segment-{firstSeq:D12}-{lastSeq:D12}.jsonl.gz";

    /// <summary>Writes the segment file and its manifest; returns the file's SHA-256.</summary>
    public async Task<string> WriteAsync(string fileName, IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, fileName);
        var temporary = path + ".tmp";
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await using (var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true))
            await using (var writer = new StreamWriter(gzip))
            {
                foreach (var record in records)
                {
                    await writer.WriteLineAsync(JsonSerializer.Serialize(record, Json).AsMemory(), cancellationToken);
                }
            }

            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }

        var sha = await HashFileAsync(temporary, cancellationToken);
        var manifest = new
        {
            file = fileName,
            sha256 = sha,
            firstSeq = records[0].Seq,
            lastSeq = records[^1].Seq,
            prevHash = records[0].PrevHash,
            lastHash = records[^1].Hash,
            count = records.Count,
            hashes = records.Select(r => r.Hash),
        };
        await File.WriteAllTextAsync(path + ".manifest.json", JsonSerializer.Serialize(manifest, Json), cancellationToken);
        File.Move(temporary, path, overwrite: true);
        return sha;
    }

    public async IAsyncEnumerable<AuditRecord> ReadAsync(ArchiveSegment segment, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(Path.Combine(Directory, segment.FileName));
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            yield return JsonSerializer.Deserialize<AuditRecord>(line, Json) ?? throw new InvalidDataException("empty archive line");
        }
    }

    /// <summary>Null when the file is intact and its records chain from the manifest's first to last hash; else what is wrong.</summary>
    public async Task<string?> CheckAsync(ArchiveSegment segment, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Directory, segment.FileName);
        if (!File.Exists(path))
        {
            return $"archive segment {segment.FileName} is missing";
        }

        if (await HashFileAsync(path, cancellationToken) != segment.FileSha256)
        {
            return $"archive segment {segment.FileName} does not match its manifest hash";
        }

        var last = new ChainHead(segment.FirstSeq - 1, segment.PrevHash);
        await foreach (var record in ReadAsync(segment, cancellationToken))
        {
            if (record.Seq != last.Seq + 1 || record.PrevHash != last.Hash || ChainHash.Compute(record.PrevHash, record.Entry, record.RecordedAtMs) != record.Hash)
            {
                return $"archive segment {segment.FileName} breaks the chain at seq {record.Seq}";
            }

            last = new ChainHead(record.Seq, record.Hash);
        }

        return last.Seq == segment.LastSeq && last.Hash == segment.LastHash ? null : $"archive segment {segment.FileName} ends before its manifest's last record";
    }

    public void Delete(ArchiveSegment segment) => Delete(segment.FileName);

    public void Delete(string fileName)
    {
        var path = Path.Combine(Directory, fileName);
        File.Delete(path);
        File.Delete(path + ".manifest.json");
    }

    /// <summary>Segment files that start at <paramref name="firstSeq"/> other than <paramref name="keep"/>: left by a run interrupted before its commit.</summary>
    public IReadOnlyList<string> LeftoversOf(long firstSeq, string keep) =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, $"segment-{firstSeq:D12}-*.jsonl.gz").Select(Path.GetFileName).Where(n => n != keep).Select(n => n!).ToList()
            : [];

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
