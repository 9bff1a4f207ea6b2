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
internal sealed class NodeGrain(LocalNode node) : Grain, INodeGrain
{
    public Task<NodeReport> ReportAsync() => Task.FromResult(node.Report());

    public Task<NodeReport> DrainAsync() => Task.FromResult(node.Drain());

    public async IAsyncEnumerable<NodeEvent> GenerateAsync(NodeRequest request)
    {
        // Disposing this iterator (the caller stopped reading, or Orleans expired an enumerator whose caller vanished)
        // cancels the generation, which frees its engine slot within one step.
        using var cancel = new CancellationTokenSource();
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
