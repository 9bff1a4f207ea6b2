using Orleans.Concurrency;
using Sovereign.Cluster.Wire;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Cluster.Nodes;

/// <summary>
/// The door to a node for the other nodes. Reentrant: many streams run through it at once, each waiting on the
/// engine, never on one another. Stateless: everything it knows is in <see cref="LocalNode"/>.
/// </summary>
[NodePlacement, Reentrant]
internal sealed class NodeGrain(LocalNode node, PeerModelCopier copier) : Grain, INodeGrain
{
    public Task<NodeReport> ReportAsync() => Task.FromResult(node.Report());

    public Task<NodeReport> DrainAsync() => Task.FromResult(node.Drain());

    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(5);

    public async IAsyncEnumerable<byte[]> ReadModelAsync(string digest)
    {
        if (node.BlobOf(digest) is not { } path) yield break;
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, PeerModelCopier.ChunkBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var buffer = new byte[PeerModelCopier.ChunkBytes];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
            yield return buffer[..read];
    }

    public async IAsyncEnumerable<NodeEvent> GenerateAsync(NodeRequest request)
    {
        // Disposing this iterator (the caller stopped reading, or Orleans expired an enumerator whose caller vanished)
        // cancels the generation, which frees its engine slot within one step.
        using var cancel = new CancellationTokenSource();

        // A model this node must first copy from a peer: the wait is sent as keep-alive events, so no single batch of
        // the stream outlasts the call timeout however long the copy takes.
        if (request.CopyModel is { } model && request.CopyFrom is { } source)
        {
            var copy = copier.EnsureAsync(model, source, cancel.Token);
            while (!copy.IsCompleted)
            {
                // The interval's timer goes as soon as the copy ends, not when it would have fired.
                using var interval = new CancellationTokenSource();
                var ticked = await Task.WhenAny(copy, Task.Delay(KeepAliveInterval, interval.Token)) != copy;
                interval.Cancel();
                if (ticked) yield return NodeEvent.KeepAlive;
            }
            NodeEvent? refused = null;
            try
            {
                await copy;
            }
            catch (SovereignException e)
            {
                refused = NodeEvent.Refusal(e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or OrleansException or TimeoutException)
            {
                refused = NodeEvent.Refusal(new SovereignException(ErrorKind.Unavailable, $"Copying the model '{model.Reference}' from another node failed: {e.Message}", code: "model_copy_failed"));
            }
            if (refused is not null)
            {
                yield return refused;
                yield break;
            }
        }

        var events = node.GenerateAsync(request.ToRequest(), cancel.Token).GetAsyncEnumerator(cancel.Token);
        try
        {
            while (true)
            {
                NodeEvent next;
                var done = false;
                try
                {
                    if (await events.MoveNextAsync()) next = NodeEvent.From(events.Current);
                    else break;
                }
                catch (SovereignException e)
                {
                    // Errors cross as data; only the generated serializer reads what another node sends.
                    next = NodeEvent.Refusal(e);
                    done = true;
                }
                yield return next;
                if (done || next.Kind is NodeEventKind.Finished or NodeEventKind.Failed) break;
            }
        }
        finally
        {
            await cancel.CancelAsync();
            await events.DisposeAsync();
        }
    }
}
