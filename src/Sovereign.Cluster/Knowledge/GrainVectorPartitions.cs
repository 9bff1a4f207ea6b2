using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Data;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Index;

namespace Sovereign.Cluster.Knowledge;

/// <summary>
/// Vector search in cluster mode: a base's vectors are split into <see cref="KnowledgeOptions.VectorPartitions"/>
/// partitions (by chunk key), each a grain on some node; a search asks them all at once and merges their best into the
/// exact overall best (<see cref="PartitionResults.Merge"/>). A partition that does not answer within
/// <see cref="AskFor"/> (its node died and the cluster has not noticed yet, which took over 30 s on a loaded 2-core
/// machine) is searched here instead, from the shared database, as its grain would: the answer stays exact and
/// arrives in bounded time, and the grain comes back on a live node once the cluster has caught up. Thread-safe.
/// </summary>
internal sealed partial class GrainVectorPartitions(IGrainFactory grains, PostgresDatabase database, IOptions<KnowledgeOptions> options,
    ILogger<GrainVectorPartitions> logger) : IVectorPartitions
{
    private static readonly TimeSpan AskFor = TimeSpan.FromSeconds(10);

    public async Task<IReadOnlyList<ChunkMatch>> SearchAsync(string tenantId, string knowledgeBaseId, ReadOnlyMemory<float> query, int limit,
        IReadOnlySet<string>? documentIds, CancellationToken cancellationToken)
    {
        if (limit <= 0) return [];
        var partitions = options.Value.VectorPartitions;
        var vector = query.ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
            SearchPartitionAsync(tenantId, knowledgeBaseId, p, partitions, vector, limit, documentIds, cancellationToken)));
        return PartitionResults.Merge(results, limit);
    }

    private async Task<IReadOnlyList<ChunkMatch>> SearchPartitionAsync(string tenantId, string knowledgeBaseId, int partition, int partitions, float[] query,
        int limit, IReadOnlySet<string>? documentIds, CancellationToken cancellationToken)
    {
        var key = PartitionKey.Of(tenantId, knowledgeBaseId, partition, partitions);
        try
        {
            var hits = await grains.GetGrain<IKnowledgePartitionGrain>(key).SearchAsync(query, limit, documentIds?.ToArray()).WaitAsync(AskFor, cancellationToken);
            return [.. hits.Keys.Select((k, i) => new ChunkMatch(k, hits.Scores[i]))];
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not Core.Errors.SovereignException)
        {
            LogPartitionSearchedHere(logger, key, e.GetType().Name, e.Message);
            var here = new PostgresVectorPartition(database, tenantId, knowledgeBaseId, partition, partitions);
            return await here.SearchAsync(query, limit, documentIds, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Knowledge partition {Partition} did not answer ({Error}: {Message}); searched it on this node from the database")]
    private static partial void LogPartitionSearchedHere(ILogger logger, string partition, string error, string message);
}
