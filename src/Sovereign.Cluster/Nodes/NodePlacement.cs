using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Sovereign.Core.Errors;

namespace Sovereign.Cluster.Nodes;

/// <summary>
/// Places a grain keyed by a silo address on exactly that silo: a node's grain must run where the node's engine and
/// model store are, never wherever Orleans would balance it to.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class NodePlacementStrategy : PlacementStrategy
{
    internal static NodePlacementStrategy Singleton { get; } = new();
}

/// <summary>Marks a grain whose string key is the silo address it must live on.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute : PlacementAttribute
{
    public NodePlacementAttribute() : base(NodePlacementStrategy.Singleton)
    {
    }
}

internal sealed class NodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException e)
        {
            throw new SovereignException(ErrorKind.InvalidRequest, $"'{key}' is not a node address.", inner: e);
        }
        // A node that has left (or never was) has no engine to run on: fail the call so the caller picks another node.
        if (!context.GetCompatibleSilos(target).Contains(silo))
            throw new SovereignException(ErrorKind.Unavailable, $"The node {key} is not an active member of the cluster.", code: "node_unavailable");
        return Task.FromResult(silo);
    }
}
