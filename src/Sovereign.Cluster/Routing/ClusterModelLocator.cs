using Sovereign.Models.Store;

namespace Sovereign.Cluster.Routing;

/// <summary>
/// The models of the whole cluster: this node's store first, then every node's advertisement (a moment old at most), so
/// an API accepts a request for a model this node does not store; it runs on a node that does. Thread-safe.
/// </summary>
internal sealed class ClusterModelLocator(IModelStore store, ClusterDirectory directory) : IModelLocator
{
    public async ValueTask<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken = default)
    {
        if (store.Find(reference) is { } local) return local;
        var reports = await directory.ReportsAsync(fresh: false, cancellationToken);
        return reports
            .SelectMany(r => r.Models)
            .FirstOrDefault(m => PlacementPolicy.Matches(reference, m.Reference, m.Digest))
            ?.ToManifest();
    }
}
