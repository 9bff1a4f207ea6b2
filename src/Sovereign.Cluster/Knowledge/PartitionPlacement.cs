using System.IO.Hashing;
using System.Text;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Sovereign.Cluster.Knowledge;

/// <summary>
/// Spreads a knowledge base's partitions over the nodes: partition p of a base goes to the (h + p)-th active node in
/// address order, h a hash of the base, so the partitions of one base land on as many different nodes as there are
/// (Orleans' load-based placement, fed by statistics a few seconds old, may put all of a base's partitions, activated
/// at once, on one node). A partition re-placed after its node died goes to the same position among the survivors.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class PartitionPlacementStrategy : PlacementStrategy
{
    internal static PartitionPlacementStrategy Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PartitionPlacementAttribute : PlacementAttribute
{
    public PartitionPlacementAttribute() : base(PartitionPlacementStrategy.Singleton)
    {
    }
}

internal sealed class PartitionPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        var (tenant, kb, partition, _) = PartitionKey.Parse(target.GrainIdentity.Key.ToString()!);
        var hash = XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(tenant + "/" + kb));
        return Task.FromResult(silos[(int)((hash + (uint)partition) % (uint)silos.Length)]);
    }
}
