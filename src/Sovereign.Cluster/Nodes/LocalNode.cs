using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Sovereign.Cluster.Wire;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Hosting;
using Sovereign.Knowledge.Index;
using Sovereign.Models.Store;

namespace Sovereign.Cluster.Nodes;

/// <summary>
/// This node's own side of the cluster: its engine (the model manager), its store, what it advertises, how much work
/// it is running, and its drain. Both the node's grain (work from other nodes) and the router (work this node keeps)
/// run generations through it, so the advertised queue depths count both. Thread-safe.
/// </summary>
public sealed class LocalNode
{
    private readonly ModelManager _engine;
    private readonly IModelStore _store;
    private readonly ILocalSiloDetails _silo;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<LocalNode> _logger;
    private readonly TimeProvider _time;
    private readonly PostgresVectorSearch? _vectors;
    private readonly ConcurrentDictionary<string, int> _inFlightByModel = new(StringComparer.Ordinal);
    private int _inFlight;
    private int _draining;

    public LocalNode(ModelManager engine, IModelStore store, ILocalSiloDetails silo, IHostApplicationLifetime lifetime, ILogger<LocalNode> logger, TimeProvider? time = null,
        PostgresVectorSearch? vectors = null)
    {
        _vectors = vectors;
        _engine = engine;
        _store = store;
        _silo = silo;
        _lifetime = lifetime;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>This node's key: its silo address.</summary>
    public string Id => _silo.SiloAddress.ToParsableString();

    public string Name => _silo.Name;

    public IInferenceService Engine => _engine;

    public bool Draining => Volatile.Read(ref _draining) == 1;

    public NodeReport Report()
    {
        var loaded = _engine.Loaded();
        return new NodeReport
        {
            Id = Id,
            Name = Name,
            Cores = Environment.ProcessorCount,
            Gpus = CountGpus(),
            MemoryBudgetBytes = _engine.MemoryBudget,
            MemoryUsedBytes = loaded.Sum(m => m.MemoryBytes),
            Models = [.. _store.List().Select(StoredModel.From)],
            Loaded = [.. loaded.Select(m => new LoadedModel(m.Name, m.Digest, m.Slots,
                Math.Max(m.Active, _inFlightByModel.GetValueOrDefault(m.Name)), m.MemoryBytes))],
            Draining = Draining,
            InFlight = Volatile.Read(ref _inFlight),
            Backend = _engine.Backend,
            At = _time.GetUtcNow(),
            VectorSearch = _vectors?.Kind switch
            {
                VectorSearchKind.Pgvector => "pgvector",
                VectorSearchKind.Partitioned => "partitioned",
                _ => null,
            },
        };
    }

    /// <summary>
    /// Runs a generation on this node's engine, counted in its queue depth. A draining node refuses new work with a
    /// 503 (<c>node_draining</c>), which the router answers by trying another node.
    /// </summary>
    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Draining)
            throw new SovereignException(ErrorKind.Unavailable, $"The node {Name} is draining and takes no new work.", code: "node_draining");
        var model = _store.Find(request.Model)?.Reference ?? request.Model;
        Interlocked.Increment(ref _inFlight);
        _inFlightByModel.AddOrUpdate(model, 1, (_, n) => n + 1);
        try
        {
            await foreach (var e in _engine.GenerateAsync(request, cancellationToken))
                yield return e;
        }
        finally
        {
            _inFlightByModel.AddOrUpdate(model, 0, (_, n) => Math.Max(0, n - 1));
            if (Interlocked.Decrement(ref _inFlight) == 0 && Draining) Leave();
        }
    }

    /// <summary>The file of the stored model whose blob has <paramref name="digest"/>; null when no stored model has it.</summary>
    public string? BlobOf(string digest)
    {
        if (!_store.List().Any(m => m.Digest == digest)) return null;
        var path = _store.BlobPath(digest);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Stops taking new work; when the last running stream ends (at once if none), the node leaves the cluster.</summary>
    public NodeReport Drain()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 0)
        {
            Log.Draining(_logger, Name, Volatile.Read(ref _inFlight));
            if (Volatile.Read(ref _inFlight) == 0) Leave();
        }
        return Report();
    }

    private int _left;

    private void Leave()
    {
        if (Interlocked.Exchange(ref _left, 1) == 1) return;
        Log.Leaving(_logger, Name);
        // Stopping the host shuts the silo down gracefully: Orleans marks it dead in the membership table at once,
        // so the other nodes stop routing to it without waiting for probes to fail.
        _ = Task.Run(_lifetime.StopApplication);
    }

    private static int CountGpus()
    {
        // NVIDIA's driver makes one /dev/nvidiaN per GPU; no driver, no GPUs this node can offer.
        try
        {
            return Directory.Exists("/dev")
                ? Directory.EnumerateFiles("/dev", "nvidia*").Count(f => Path.GetFileName(f)["nvidia".Length..].All(char.IsAsciiDigit) && f.Length > "/dev/nvidia".Length)
                : 0;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
