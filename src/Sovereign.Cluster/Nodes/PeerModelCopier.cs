using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sovereign.Cluster.Wire;
using Sovereign.Core.Errors;
using Sovereign.Core.Options;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Nodes;

/// <summary>
/// Copies a model from another node's store into this node's, when no node that stores it has room to run it. The bytes
/// travel over the cluster's own connection (mutual TLS and the shared secret, as every call between nodes), not over
/// the HTTP mirror, so nodes need no API keys for one another. The copy is then imported like any file, which hashes it:
/// what lands in the store is what the peer advertised, or nothing. One copy per model at a time; requests that need the
/// same one wait for it. Thread-safe.
/// </summary>
public sealed class PeerModelCopier(IModelStore store, IGrainFactory grains, SovereignPaths paths, ILogger<PeerModelCopier> logger)
{
    /// <summary>Bytes per streamed piece, and pieces per Orleans message: about 1 MiB a message.</summary>
    internal const int ChunkBytes = 256 * 1024;
    internal const int ChunksPerMessage = 4;

    private readonly ConcurrentDictionary<string, Lazy<Task>> _copies = new(StringComparer.Ordinal);

    /// <summary>Copies are counted, for tests and the log: models this node took from a peer since it started.</summary>
    public int Copied => Volatile.Read(ref _copied);

    private int _copied;

    /// <summary>
    /// Ensures <paramref name="model"/> is in this node's store, copying it from <paramref name="sourceNodeId"/> if not.
    /// Cancelling stops this caller's wait, not a copy others may be waiting for.
    /// </summary>
    /// <exception cref="SovereignException">503 <c>model_copy_failed</c> when the peer lost it or sent other bytes.</exception>
    public Task EnsureAsync(StoredModel model, string sourceNodeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (store.Find(model.Reference) is { } have && have.Digest == model.Digest) return Task.CompletedTask;
        var copy = _copies.GetOrAdd(model.Digest, _ => new Lazy<Task>(() => CopyAsync(model, sourceNodeId)));
        return copy.Value.WaitAsync(cancellationToken);
    }

    private async Task CopyAsync(StoredModel model, string sourceNodeId)
    {
        var incoming = Path.Combine(paths.Models, "incoming");
        Directory.CreateDirectory(incoming);
        var temp = Path.Combine(incoming, $"{model.Digest.Replace(':', '-')}-{Guid.NewGuid():N}.partial");
        try
        {
            Log.CopyingModel(logger, model.Reference, sourceNodeId);
            long received = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, ChunkBytes, FileOptions.Asynchronous))
            {
                var source = grains.GetGrain<INodeGrain>(sourceNodeId);
                await foreach (var chunk in source.ReadModelAsync(model.Digest).WithBatchSize(ChunksPerMessage))
                {
                    received += chunk.Length;
                    if (received > model.SizeBytes) break;
                    await file.WriteAsync(chunk);
                }
                await file.FlushAsync();
            }
            if (received != model.SizeBytes)
                throw Failed(model, $"the node sent {received} bytes of {model.SizeBytes}; it may have removed the model meanwhile");

            var imported = await store.ImportAsync(temp, ModelName.Parse(model.Reference), model.ChatTemplateOverride);
            if (imported.Digest != model.Digest)
            {
                store.Remove(imported.Reference);
                throw Failed(model, $"the bytes hash to {imported.Digest}, not the advertised {model.Digest}");
            }
            Interlocked.Increment(ref _copied);
            Log.CopiedModel(logger, model.Reference, sourceNodeId, received);
        }
        finally
        {
            File.Delete(temp);
            _copies.TryRemove(model.Digest, out _);
        }
    }

    private static SovereignException Failed(StoredModel model, string why) =>
        new(ErrorKind.Unavailable, $"Copying the model '{model.Reference}' from another node failed: {why}.", code: "model_copy_failed") { RetryAfter = TimeSpan.FromSeconds(1) };
}
