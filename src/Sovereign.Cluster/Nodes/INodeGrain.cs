using Sovereign.Cluster.Wire;

namespace Sovereign.Cluster.Nodes;

/// <summary>
/// One node of the cluster as the other nodes reach it. Keyed by the node's silo address and placed on that silo
/// (<see cref="NodePlacementAttribute"/>), so a call to it runs on that node's own engine and model store.
/// </summary>
public interface INodeGrain : IGrainWithStringKey
{
    /// <summary>The node's advertisement: capacity, stored and loaded models, queue depths.</summary>
    Task<NodeReport> ReportAsync();

    /// <summary>
    /// Runs a generation on this node's engine. Orleans carries the stream in batches: events that have queued up by
    /// the time the caller asks for more travel in one message. A refusal arrives as a <see cref="NodeEventKind.Refused"/> event.
    /// </summary>
    IAsyncEnumerable<NodeEvent> GenerateAsync(NodeRequest request);

    /// <summary>
    /// The bytes of the stored model whose blob has <paramref name="digest"/>, in pieces, for a node that copies it
    /// (<see cref="PeerModelCopier"/>). Nothing when this node stores no model with that digest; the copier checks the length.
    /// </summary>
    IAsyncEnumerable<byte[]> ReadModelAsync(string digest);

    /// <summary>Stops taking new work; running streams finish, then the node leaves the cluster.</summary>
    Task<NodeReport> DrainAsync();
}
