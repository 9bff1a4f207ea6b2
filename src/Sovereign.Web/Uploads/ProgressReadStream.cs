namespace Sovereign.Web.Uploads;

/// <summary>
/// Reads another stream and reports how many bytes have been read so far. Wrapped around a browser file, it reports
/// the bytes that have actually arrived from the browser, since they arrive only as they are read: real upload
/// progress, not an estimate. Reports only when the whole percentage changes, so a page re-renders at most about a
/// hundred times per file. Not thread-safe (one reader, like any stream).
/// </summary>
public sealed class ProgressReadStream(Stream inner, long expectedBytes, Action<long> progress) : Stream
{
    private long _read;
    private long _lastPercent = -1;

    public long BytesRead => _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Count(int read)
    {
        _read += read;
        var percent = expectedBytes <= 0 ? 100 : Math.Min(100, _read * 100 / expectedBytes);
        // The end (a read of 0) is always reported, so the last report is the whole file.
        if (percent != _lastPercent || read == 0)
        {
            _lastPercent = percent;
            progress(_read);
        }
        return read;
    }
}
