using Sovereign.Models.Store;

namespace Sovereign.Cluster.Routing;

/// <summary>
/// The models of the whole cluster, for an API that must accept a request for a model this node does not store (it
/// runs on a node that does). Registered only in cluster mode. Thread-safe.
/// </summary>
public interface IClusterModelCatalog
{
    /// <summary>The manifest of <paramref name="reference"/> as some node stores it; null when no node does.</summary>
    Task<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken);
}

internal sealed class ClusterModelCatalog(ClusterDirectory directory) : IClusterModelCatalog
{
    public async Task<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken)
    {
        var reports = await directory.ReportsAsync(fresh: false, cancellationToken);
        return reports
            .SelectMany(r => r.Models)
            .FirstOrDefault(m => PlacementPolicy.Matches(reference, m.Reference, m.Digest))
            ?.ToManifest();
    }
}
