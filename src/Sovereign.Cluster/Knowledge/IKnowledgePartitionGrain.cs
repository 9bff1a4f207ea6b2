namespace Sovereign.Cluster.Knowledge;

/// <summary>
/// One partition of one knowledge base's vectors, held in memory on whichever node the cluster placed it on. Keyed by
/// <see cref="PartitionKey"/>: tenant, base, partition number and partition count, so another tenant's base, or the
/// same base split another way, is another grain.
/// </summary>
[Alias("Sovereign.Cluster.Knowledge.IKnowledgePartitionGrain")]
public interface IKnowledgePartitionGrain : IGrainWithStringKey
{
    /// <summary>The partition's best <paramref name="limit"/> chunks for <paramref name="query"/>, best first.</summary>
    [Alias("Search")]
    Task<PartitionHits> SearchAsync(float[] query, int limit, string[]? documentIds);

    /// <summary>Where this partition lives and how many vectors it holds (for status and tests).</summary>
    [Alias("Describe")]
    Task<PartitionInfo> DescribeAsync();
}

/// <summary>Chunk keys and their scores, best first.</summary>
[GenerateSerializer, Immutable, Alias("Sovereign.Cluster.Knowledge.PartitionHits")]
public sealed record PartitionHits([property: Id(0)] long[] Keys, [property: Id(1)] double[] Scores);

[GenerateSerializer, Immutable, Alias("Sovereign.Cluster.Knowledge.PartitionInfo")]
public sealed record PartitionInfo([property: Id(0)] string Node, [property: Id(1)] int Vectors);

/// <summary>The string key of a partition grain. Ids never contain the separator (a unit separator control character).</summary>
public static class PartitionKey
{
    private const char Separator = '\u001f';

    public static string Of(string tenantId, string knowledgeBaseId, int partition, int partitions) =>
        string.Join(Separator, tenantId, knowledgeBaseId, partition.ToString(System.Globalization.CultureInfo.InvariantCulture),
            partitions.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static (string TenantId, string KnowledgeBaseId, int Partition, int Partitions) Parse(string key)
    {
        var parts = key.Split(Separator);
        if (parts.Length != 4) throw new ArgumentException($"Not a partition key: '{key}'.", nameof(key));
        return (parts[0], parts[1], int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture));
    }
}
