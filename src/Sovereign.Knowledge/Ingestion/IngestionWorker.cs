using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Ingestion;

/// <summary>
/// Runs ingestion jobs in the background: on start it queues every job the database says is unfinished (queued, or
/// interrupted by a stop or crash), then runs what arrives, <see cref="KnowledgeOptions.MaxConcurrentIngestions"/> at a
/// time. Stopping the server cancels running jobs, which stay recorded as unfinished and resume on the next start.
/// </summary>
public sealed class IngestionWorker(IngestionQueue queue, IngestionPipeline pipeline, IKnowledgeStore store, IOptions<KnowledgeOptions> options,
    ILogger<IngestionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the rest of start-up finish first (the schema is migrated before any hosted service starts).
        await Task.Yield();
        var unfinished = await store.ListUnfinishedJobsAsync(stoppingToken);
        if (unfinished.Count > 0) logger.IngestionResuming(unfinished.Count);
        foreach (var job in unfinished) queue.Enqueue(job);

        var workers = Enumerable.Range(0, options.Value.MaxConcurrentIngestions).Select(_ => RunJobsAsync(stoppingToken));
        await Task.WhenAll(workers);
    }

    private async Task RunJobsAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in queue.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await pipeline.RunAsync(job, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // The pipeline records failures itself; this is a failure to record (e.g. the database is gone).
                    logger.IngestionCrashed(e, job.DocumentId);
                }
                finally
                {
                    queue.Done(job);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
