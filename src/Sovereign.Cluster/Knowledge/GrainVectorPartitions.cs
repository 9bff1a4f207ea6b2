using Microsoft.Extensions.Options;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Index;

namespace Sovereign.Cluster.Knowledge;

/// <summary>
/// Vector search in cluster mode: a base's vectors are split into <see cref="KnowledgeOptions.VectorPartitions"/>
/// partitions (by chunk key), each a grain on some node; a search asks them all at once and merges their best into the
/// exact overall best (<see cref="PartitionResults.Merge"/>). A partition whose node just died answers with an error;
/// the search asks again (up to two seconds apart) until the cluster has placed the partition on a live node, for as
/// long as <see cref="RetryFor"/>: noticing a dead node takes seconds, more on a loaded machine. Thread-safe.
/// </summary>
internal sealed class GrainVectorPartitions(IGrainFactory grains, IOptions<KnowledgeOptions> options) : IVectorPartitions
{
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    public async Task<IReadOnlyList<ChunkMatch>> SearchAsync(string tenantId, string knowledgeBaseId, ReadOnlyMemory<float> query, int limit,
        IReadOnlySet<string>? documentIds, CancellationToken cancellationToken)
    {
        if (limit <= 0) return [];
        var partitions = options.Value.VectorPartitions;
        var vector = query.ToArray();
        var documents = documentIds?.ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
            SearchPartitionAsync(grains.GetGrain<IKnowledgePartitionGrain>(PartitionKey.Of(tenantId, knowledgeBaseId, p, partitions)), vector, limit, documents,
                cancellationToken)));
        return PartitionResults.Merge(results, limit);
    }

    private static async Task<IReadOnlyList<ChunkMatch>> SearchPartitionAsync(IKnowledgePartitionGrain partition, float[] query, int limit, string[]? documents,
        CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var hits = await partition.SearchAsync(query, limit, documents).WaitAsync(cancellationToken);
                return [.. hits.Keys.Select((key, i) => new ChunkMatch(key, hits.Scores[i]))];
            }
            catch (Exception e) when (System.Diagnostics.Stopwatch.GetElapsedTime(started) < RetryFor && e is not OperationCanceledException
                && e is not Core.Errors.SovereignException)
            {
                // The partition's node is gone or going: once the cluster has noticed (seconds), the call places it anew.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 500 * attempt)), cancellationToken);
            }
        }
    }
}
