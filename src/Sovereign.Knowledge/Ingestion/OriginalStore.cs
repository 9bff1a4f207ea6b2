using System.Security.Cryptography;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;

namespace Sovereign.Knowledge.Ingestion;

/// <summary>
/// Uploaded originals, kept byte for byte as received under <c>$SOV_HOME/uploads/{tenant}/{kb}/{document}</c>. A file
/// is written to a temporary name, flushed to disk and renamed (and its folder flushed) before <see cref="SaveAsync"/>
/// returns, so an accepted document survives a crash. Thread-safe.
/// </summary>
public sealed class OriginalStore(SovereignPaths paths)
{
    public string Root { get; } = Path.Combine(paths.Root, "uploads");

    /// <summary>
    /// Copies <paramref name="content"/> to the document's place, refusing it (413) past <paramref name="maxBytes"/>
    /// and (400) when empty. Nothing is left behind when it throws.
    /// </summary>
    public async Task<StoredOriginal> SaveAsync(string tenantId, string knowledgeBaseId, string documentId, Stream content, long maxBytes, string fileName,
        CancellationToken cancellationToken)
    {
        var folder = FolderOf(tenantId, knowledgeBaseId);
        Directory.CreateDirectory(folder);
        var final = Path.Combine(folder, documentId);
        var temp = final + ".partial";
        long bytes = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    bytes += read;
                    if (bytes > maxBytes)
                        throw new SovereignException(ErrorKind.PayloadTooLarge,
                            $"The file '{fileName}' is larger than this server accepts ({maxBytes} bytes, Sovereign:Knowledge:MaxUploadBytes).",
                            "file", "file_too_large");
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                if (bytes == 0)
                    throw SovereignException.Invalid($"The file '{fileName}' is empty.", "file", "empty_file");
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, final);
            FlushFolder(folder);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return new StoredOriginal(final, Convert.ToHexStringLower(hash.GetHashAndReset()), bytes);
    }

    /// <summary>
    /// A path on this node from which the document's original can be read: where it was stored when this node received
    /// the upload, else a copy written from the shared database by <paramref name="copy"/> (see
    /// <see cref="Storage.IKnowledgeStore.CopyOriginalAsync"/>), checked against the SHA-256 recorded at upload. Null
    /// when neither exists.
    /// </summary>
    public async Task<string?> LocalCopyAsync(Storage.KnowledgeDocument document, Func<Stream, CancellationToken, Task<bool>> copy, CancellationToken cancellationToken)
    {
        if (File.Exists(document.OriginalPath)) return document.OriginalPath;
        var folder = FolderOf(document.TenantId, document.KnowledgeBaseId);
        Directory.CreateDirectory(folder);
        var final = Path.Combine(folder, document.Id);
        if (File.Exists(final)) return final;
        var temp = final + ".partial";
        try
        {
            string sha;
            await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            await using (var hashing = new HashingStream(file))
            {
                if (!await copy(hashing, cancellationToken))
                {
                    TryDelete(temp);
                    return null;
                }
                sha = hashing.Sha256();
                file.Flush(flushToDisk: true);
            }
            if (!sha.Equals(document.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"The original of '{document.Id}' in the database does not match the SHA-256 recorded at upload.");
            File.Move(temp, final, overwrite: true);
            return final;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public void Delete(string path)
    {
        // Only files under our own folder are ever removed, whatever a database row says.
        var full = Path.GetFullPath(path);
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return;
        TryDelete(full);
    }

    public void DeleteBase(string tenantId, string knowledgeBaseId)
    {
        var folder = FolderOf(tenantId, knowledgeBaseId);
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private string FolderOf(string tenantId, string knowledgeBaseId) => Path.Combine(Root, Safe(tenantId), Safe(knowledgeBaseId));

    // Ids are ours, but a tenant id comes from configuration: keep every path segment a plain name.
    private static string Safe(string segment) =>
        segment.Length > 0 && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && segment is not "." and not ".."
            ? segment
            : Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(segment)))[..32];

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>fsync on the folder, so the rename itself is durable (Linux; elsewhere a no-op).</summary>
    private static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux()) return;
        var fd = NativeFile.Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) return;
        _ = NativeFile.Fsync(fd);
        _ = NativeFile.Close(fd);
    }
}

/// <param name="Path">Where the original now lives.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of its bytes.</param>
public sealed record StoredOriginal(string Path, string Sha256, long Bytes);

/// <summary>Hashes what is written through it; for copies whose digest must be checked before they are kept.</summary>
internal sealed class HashingStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string Sha256() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count)
    {
        _hash.AppendData(buffer, offset, count);
        inner.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _hash.AppendData(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}

internal static class NativeFile
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false)]
    public static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPStr)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static extern int Fsync(int fd);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);
}
