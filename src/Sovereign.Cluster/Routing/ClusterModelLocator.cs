using Sovereign.Models.Store;

namespace Sovereign.Cluster.Routing;

/// <summary>
/// The models of the whole cluster: this node's store first, then every node's advertisement (a moment old at most), so
/// an API accepts a request for a model this node does not store; it runs on a node that does. A model found nowhere
/// is looked for once more in advertisements asked for now, before the caller answers 404: the cached ones may predate
/// an import, or lack a node that was slow to answer (its first answer after start-up, on a busy machine). Thread-safe.
/// </summary>
internal sealed class ClusterModelLocator(IModelStore store, ClusterDirectory directory) : IModelLocator
{
    public async ValueTask<ModelManifest?> FindAsync(string reference, CancellationToken cancellationToken = default)
    {
        if (store.Find(reference) is { } local) return local;
        foreach (var fresh in new[] { false, true })
        {
            var reports = await directory.ReportsAsync(fresh, cancellationToken);
            if (reports.SelectMany(r => r.Models).FirstOrDefault(m => PlacementPolicy.Matches(reference, m.Reference, m.Digest)) is { } found)
                return found.ToManifest();
        }
        return null;
    }
}
