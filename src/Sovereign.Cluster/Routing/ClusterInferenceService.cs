using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Cluster.Hosting;
using Sovereign.Cluster.Nodes;
using Sovereign.Cluster.Wire;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Cluster.Routing;

/// <summary>
/// The engine as the API layer sees it in cluster mode: every generation goes to the node that should run it, here or
/// on another node, and its events stream back. Loading, unloading and <see cref="Loaded"/> act on this node's engine.
/// Thread-safe.
/// </summary>
public sealed class ClusterInferenceService : IInferenceService
{
    /// <summary>Nodes tried for one request before it fails; each failure before the first token moves it on.</summary>
    public const int MaxAttempts = 3;

    private readonly ClusterDirectory _directory;
    private readonly LocalNode _local;
    private readonly PeerModelCopier _copier;
    private readonly IGrainFactory _grains;
    private readonly SovereignClusterOptions _options;
    private readonly ILogger<ClusterInferenceService> _logger;
    private int _failovers;

    public ClusterInferenceService(ClusterDirectory directory, LocalNode local, PeerModelCopier copier, IGrainFactory grains, IOptions<SovereignClusterOptions> options,
        ILogger<ClusterInferenceService> logger)
    {
        _directory = directory;
        _local = local;
        _copier = copier;
        _grains = grains;
        _options = options.Value;
        _logger = logger;
    }

    public string Backend => _local.Engine.Backend;

    /// <summary>Requests moved to another node because theirs was lost before the first token (since start).</summary>
    public int Failovers => Volatile.Read(ref _failovers);

    public IReadOnlyList<LoadedModelInfo> Loaded() => _local.Engine.Loaded();

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => _local.Engine.UnloadAsync(model, cancellationToken);

    public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
        _local.Engine.LoadAsync(model, keepAlive, cancellationToken);

    /// <summary>
    /// <list type="number">
    /// <item>Take the nodes' advertisements (a moment old at most).</item>
    /// <item>Pick a node (<see cref="PlacementPolicy"/>); none has the model → 404 as on a single node.</item>
    /// <item>Open the stream there: this node's engine directly, another node through its grain.</item>
    /// <item>Relay its events. A node lost (or draining) before the first token is left out and the request goes back to
    /// step 2, unseen by the client (a node whose stream Orleans aborted is alive, and is tried once more); a node lost
    /// after tokens were sent ends the stream with a Failed event.</item>
    /// </list>
    /// </summary>
    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        var retriedInPlace = new HashSet<string>(StringComparer.Ordinal);
        var affinity = AffinityKey(request);
        var startedSent = false;
        for (var attempt = 1; ; attempt++)
        {
            // :: Step 1: the advertisements; after a failure, fresh ones.
            var reports = await _directory.ReportsAsync(fresh: attempt > 1, cancellationToken);

            // :: Step 2: the node.
            var placement = PlacementPolicy.Choose(request.Model, reports, _local.Id, excluded, affinity);
            if (placement is null)
            {
                if (attempt == 1 || excluded.Count == 0)
                    throw SovereignException.NotFound($"The model '{request.Model}' does not exist on any node of the cluster. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");
                throw new SovereignException(ErrorKind.Unavailable, $"No node that has the model '{request.Model}' could take the request; try again.", code: "no_node_available")
                { RetryAfter = TimeSpan.FromSeconds(1) };
            }
            var node = placement.Node;
            Log.Routed(_logger, request.Id, request.Model, node.Name, placement.Reason.ToString());

            // :: Step 3: the stream.
            var events = Open(placement, request, cancellationToken);
            var textSent = false;
            Exception? lost = null;
            try
            {
                while (true)
                {
                    GenerationEvent next;
                    try
                    {
                        if (!await events.MoveNextAsync()) yield break;
                        next = events.Current;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e) when (!textSent && attempt < MaxAttempts && (e is not SovereignException refusal || Movable(refusal)))
                    {
                        lost = e;
                        break;
                    }
                    catch (SovereignException) when (!textSent)
                    {
                        throw;
                    }
                    catch (Exception e) when (!textSent)
                    {
                        _directory.Invalidate();
                        throw new SovereignException(ErrorKind.Unavailable, $"The node {node.Name} was lost before the request started, and so were the others tried.", code: "node_lost", inner: e);
                    }
                    catch (Exception e)
                    {
                        // :: Step 4, after tokens were sent: the client learns in-band, as from a crashed runner.
                        _directory.Invalidate();
                        Log.LostMidStream(_logger, request.Id, node.Name, e);
                        next = new GenerationEvent.Failed(ErrorKind.Unavailable, $"The node {node.Name} serving this request left the cluster mid-stream.", "node_lost");
                    }

                    // A retried request must not start twice in the client's eyes.
                    if (next is GenerationEvent.Started)
                    {
                        if (startedSent) continue;
                        startedSent = true;
                    }
                    else if (next is GenerationEvent.TextDelta)
                    {
                        textSent = true;
                    }
                    yield return next;
                    if (next is GenerationEvent.Finished or GenerationEvent.Failed) yield break;
                }
            }
            finally
            {
                await DisposeQuietlyAsync(events);
            }

            // :: Step 4, before the first token: leave the node out and go round again. An enumerator Orleans lost is
            //    not a lost node: its grain was activated anew (as when the node that held its directory entry died,
            //    seen in CI), so the node is tried once more.
            Interlocked.Increment(ref _failovers);
            Log.Rerouting(_logger, request.Id, node.Name, lost!);
            if (lost is not EnumerationAbortedException || !retriedInPlace.Add(node.Id)) excluded.Add(node.Id);
            _directory.Invalidate();
        }
    }

    private IAsyncEnumerator<GenerationEvent> Open(Placement placement, GenerationRequest request, CancellationToken cancellationToken)
    {
        if (placement.Node.Id == _local.Id) return LocalAsync(placement, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        return RemoteAsync(placement, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<GenerationEvent> LocalAsync(Placement placement, GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (placement.Source is var (source, model)) await _copier.EnsureAsync(model, source.Id, cancellationToken);
        await foreach (var e in _local.GenerateAsync(request, cancellationToken))
            yield return e;
    }

    private async IAsyncEnumerable<GenerationEvent> RemoteAsync(Placement placement, GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var grain = _grains.GetGrain<INodeGrain>(placement.Node.Id);
        var sent = NodeRequest.From(request) with { CopyModel = placement.Source?.Model, CopyFrom = placement.Source?.Node.Id };
        await using var remote = grain.GenerateAsync(sent).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            // Each batch is one call, bounded by the call timeout; Orleans' heartbeats keep a long wait for the first
            // token (a model loading, a full queue) from counting as a lost node, and a model copy sends keep-alives.
            if (!await remote.MoveNextAsync().AsTask().WaitAsync(_options.ClusterCallTimeout, cancellationToken)) yield break;
            if (remote.Current.Kind == NodeEventKind.KeepAlive) continue;
            yield return remote.Current.ToEvent();
        }
    }

    /// <summary>Refusals that another node may not share: this node is draining or gone, or lost the model meanwhile.</summary>
    private static bool Movable(SovereignException e) =>
        e.Code is "node_draining" or "node_unavailable" or "model_copy_failed" || (e.Kind == ErrorKind.NotFound && e.Code == "model_not_found");

    private static async ValueTask DisposeQuietlyAsync(IAsyncEnumerator<GenerationEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception)
        {
            // Disposing a stream whose node is gone fails too; the failure was already handled.
        }
    }

    /// <summary>A chat's opening (system prompt and first user turn): every turn of one conversation shares it.</summary>
    private static string? AffinityKey(GenerationRequest request)
    {
        if (request.Messages is not { Count: > 0 } messages) return null;
        var opening = messages.TakeWhile(m => m.Role != "assistant").Take(2).Select(m => m.Role + ":" + m.Content);
        return request.Model + "\n" + string.Join("\n", opening);
    }
}
