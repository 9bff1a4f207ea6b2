using Orleans.Runtime;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Routing;
using Sovereign.Cluster.Wire;
using Sovereign.Core.Errors;

namespace Sovereign.Cluster;

/// <summary>One node as <c>sov cluster status</c> shows it. Health: active, draining, joining, leaving or unreachable.</summary>
public sealed record NodeStatus(string Id, string Name, string Health, bool Local, NodeReport? Report);

/// <summary>The operator's view of the cluster, behind the admin API. Registered only in cluster mode. Thread-safe.</summary>
public interface IClusterAdmin
{
    /// <summary>Every member Orleans knows that is not dead, with its fresh advertisement where it answered in time.</summary>
    Task<IReadOnlyList<NodeStatus>> StatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Drains the node named <paramref name="node"/> (its name or address): it takes no new work, finishes its running
    /// streams, then leaves. 404 when no such node is a member.
    /// </summary>
    Task<NodeStatus> DrainAsync(string node, CancellationToken cancellationToken);
}

internal sealed class ClusterAdmin(IClusterMembershipService membership, ClusterDirectory directory, LocalNode local, IGrainFactory grains) : IClusterAdmin
{
    public async Task<IReadOnlyList<NodeStatus>> StatusAsync(CancellationToken cancellationToken)
    {
        var members = membership.CurrentSnapshot.Members.Values.Where(m => m.Status != SiloStatus.Dead).ToList();
        var reports = await Task.WhenAll(members.Select(m =>
            m.Status == SiloStatus.Active ? directory.AskAsync(m, cancellationToken) : Task.FromResult<NodeReport?>(null)));
        return [.. members.Zip(reports, (m, r) => ToStatus(m, r)).OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    public async Task<NodeStatus> DrainAsync(string node, CancellationToken cancellationToken)
    {
        var member = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .FirstOrDefault(m => string.Equals(m.Name, node, StringComparison.OrdinalIgnoreCase) || m.SiloAddress.ToParsableString() == node)
            ?? throw SovereignException.NotFound($"No active node named '{node}' is in the cluster; `sov cluster status` lists them.", "node", "node_not_found");
        var id = member.SiloAddress.ToParsableString();
        var report = id == local.Id ? local.Drain() : await grains.GetGrain<INodeGrain>(id).DrainAsync().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        directory.Invalidate();
        return ToStatus(member, report);
    }

    private NodeStatus ToStatus(ClusterMember member, NodeReport? report)
    {
        var health = member.Status switch
        {
            SiloStatus.Active when report is null => "unreachable",
            SiloStatus.Active when report.Draining => "draining",
            SiloStatus.Active => "active",
            SiloStatus.Joining or SiloStatus.Created => "joining",
            _ => "leaving",
        };
        var id = member.SiloAddress.ToParsableString();
        return new NodeStatus(id, member.Name ?? id, health, id == local.Id, report);
    }
}
