using System.Collections.Concurrent;
using System.Threading.Channels;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Ingestion;

/// <summary>
/// Jobs waiting for the <see cref="IngestionWorker"/>, in arrival order, each at most once at a time (a job queued by an
/// upload and found again by the start-up scan runs once). The database is the record; this queue only wakes the
/// worker. Thread-safe.
/// </summary>
public sealed class IngestionQueue
{
    private readonly Channel<PendingJob> _channel = Channel.CreateUnbounded<PendingJob>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);

    /// <summary>Queues <paramref name="job"/> unless it is already queued or running.</summary>
    public void Enqueue(PendingJob job)
    {
        if (_queued.TryAdd(job.DocumentId, 0)) _channel.Writer.TryWrite(job);
    }

    public IAsyncEnumerable<PendingJob> ReadAllAsync(CancellationToken cancellationToken) => _channel.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Called when a job has ended (however it ended), so the same document can be queued again.</summary>
    public void Done(PendingJob job) => _queued.TryRemove(job.DocumentId, out _);

    /// <summary>Queued or running jobs.</summary>
    public int Pending => _queued.Count;
}
