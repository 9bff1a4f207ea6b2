using Sovereign.Core.Errors;

namespace Sovereign.Models.Store;

/// <summary>
/// An exclusive lock on the store, held while blobs are committed and manifests change, so that an import in one
/// process cannot race a remove in another. It is an OS file lock (FileShare.None, which .NET turns into flock on
/// Unix), so it works across processes and between threads alike, and the OS drops it when a process dies.
/// </summary>
internal sealed class StoreLock : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(15);

    private readonly FileStream _handle;

    private StoreLock(FileStream handle) => _handle = handle;

    public static async Task<StoreLock> AcquireAsync(string folder, CancellationToken cancellationToken)
    {
        var path = PathIn(folder);
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (TryOpen(path, out var error) is { } handle) return new StoreLock(handle);
            if (DateTime.UtcNow > deadline) throw Busy(error);
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    public static StoreLock Acquire(string folder)
    {
        var path = PathIn(folder);
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (TryOpen(path, out var error) is { } handle) return new StoreLock(handle);
            if (DateTime.UtcNow > deadline) throw Busy(error);
            Thread.Sleep(Poll);
        }
    }

    public void Dispose() => _handle.Dispose();

    public ValueTask DisposeAsync() => _handle.DisposeAsync();

    private static string PathIn(string folder)
    {
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, ".lock");
    }

    private static FileStream? TryOpen(string path, out IOException? error)
    {
        try
        {
            error = null;
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException))
        {
            // Held by someone else (a sharing violation); anything persistent surfaces as the inner error on timeout.
            error = e;
            return null;
        }
    }

    private static SovereignException Busy(IOException? error) =>
        new(ErrorKind.Unavailable, $"The model store is busy: another import or removal has held it for over {Timeout.TotalSeconds:0} seconds.",
            code: "store_busy", inner: error)
        { RetryAfter = TimeSpan.FromSeconds(5) };
}
