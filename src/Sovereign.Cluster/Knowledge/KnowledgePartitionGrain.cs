using Sovereign.Cluster.Nodes;
using Sovereign.Data;
using Sovereign.Knowledge.Index;

namespace Sovereign.Cluster.Knowledge;

/// <summary>
/// Holds one partition of a base's vectors (a <see cref="PostgresVectorPartition"/>, loaded from the shared database on
/// first use and kept in step with its change log). A base's partitions are spread over the nodes
/// (<see cref="PartitionPlacementAttribute"/>); when a node dies its partitions come back on others and load themselves
/// again. Searches of one partition run one at a time, while the partitions of a base run in parallel.
/// </summary>
[PartitionPlacement]
internal sealed class KnowledgePartitionGrain(PostgresDatabase database, LocalNode node) : Grain, IKnowledgePartitionGrain
{
    private PostgresVectorPartition? _partition;

    private PostgresVectorPartition Partition
    {
        get
        {
            if (_partition is null)
            {
                var (tenant, kb, partition, partitions) = PartitionKey.Parse(this.GetPrimaryKeyString());
                _partition = new PostgresVectorPartition(database, tenant, kb, partition, partitions);
            }
            return _partition;
        }
    }

    public async Task<PartitionHits> SearchAsync(float[] query, int limit, string[]? documentIds)
    {
        var matches = await Partition.SearchAsync(query, limit, documentIds?.ToHashSet(StringComparer.Ordinal), CancellationToken.None);
        return new PartitionHits([.. matches.Select(m => m.Key)], [.. matches.Select(m => m.Score)]);
    }

    public Task<PartitionInfo> DescribeAsync() => Task.FromResult(new PartitionInfo(node.Name, _partition?.Count ?? 0));
}
