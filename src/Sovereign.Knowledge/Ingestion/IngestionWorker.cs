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
        await Task.WhenAll([.. workers, ScanAsync(stoppingToken)]);
    }

    /// <summary>
    /// Looks for jobs again from time to time: with a shared database, a job may have been queued through another node
    /// or left by one that died (its lease ran out). A job found while it runs here is not queued twice, and one that
    /// finished in between is not started again (<see cref="IKnowledgeStore.StartJobAsync"/> refuses it).
    /// </summary>
    private async Task ScanAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.JobScanInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var job in await store.ListUnfinishedJobsAsync(stoppingToken)) queue.Enqueue(job);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.IngestionScanFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
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
