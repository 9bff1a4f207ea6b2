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

internal static class NativeFile
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false)]
    public static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPStr)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static extern int Fsync(int fd);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);
}
