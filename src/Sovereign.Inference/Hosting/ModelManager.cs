using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Core.Options;
using Sovereign.Inference.Engine;
using Sovereign.Inference.Runner;
using Sovereign.Models.Store;

namespace Sovereign.Inference.Hosting;

/// <summary>
/// Knows which runner processes exist, starts one per model on first use (once, however many requests ask at
/// the same time), routes requests to it, restarts it after a crash and ends it when it has been idle past
/// its keep-alive. Loaded models share a memory budget: to make room for a new one, the least recently used
/// idle models are unloaded; a busy model is never unloaded; a model that cannot fit is refused. Thread-safe.
/// </summary>
public sealed partial class ModelManager : IInferenceService, IAsyncDisposable
{
    private readonly IModelStore _store;
    private readonly SovereignOptions _options;
    private readonly SovereignPaths _paths;
    private readonly ILogger<ModelManager> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedRunner>>> _runners = new();
    private readonly Lazy<RunnerCommand> _command;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _reaper;
    // Loads run one at a time, so the budget check and the start of the runner it admits are one decision.
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private int _disposed;
    private string _backend = $"llama.cpp via LLamaSharp {NativeBackendProbe.LlamaSharpVersion} (no model loaded yet)";

    public ModelManager(IModelStore store, IOptions<SovereignOptions> options, SovereignPaths paths, ILogger<ModelManager> logger, TimeProvider? time = null)
    {
        _store = store;
        _options = options.Value;
        _paths = paths;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _command = new Lazy<RunnerCommand>(() => RunnerCommand.Locate(_options.Engine.RunnerCommand));
        _reaper = ReapIdleAsync(_shutdown.Token);
    }

    public string Backend => _backend;

    /// <summary>How many runner processes this manager has started (loads, restarts included).</summary>
    public int RunnerStarts => Volatile.Read(ref _runnerStarts);

    private int _runnerStarts;

    public IReadOnlyList<LoadedModelInfo> Loaded()
    {
        var list = new List<LoadedModelInfo>();
        foreach (var entry in _runners.Values)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
            var r = entry.Value.Result;
            if (r.Process.HasExited || r.IsRetired) continue;
            list.Add(new LoadedModelInfo(r.Manifest.Reference, r.Manifest.Digest, r.Manifest.Size, r.Process.InitialStatus.ContextSize,
                r.Process.InitialStatus.Slots, r.Active, 0, r.LastUsed, r.Process.ProcessId)
            {
                MemoryBytes = r.MemoryBytes,
                ExpiresAt = r.ExpiresAt(),
            });
        }
        return list;
    }

    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // :: Step 1: resolve the model in the store (404 when absent).
        var manifest = _store.Find(request.Model)
            ?? throw SovereignException.NotFound($"The model '{request.Model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");

        // :: Steps 2 and 3: hold a runner (so it is not unloaded under us) and open the stream on it.
        var (runner, stream) = await OpenStreamAsync(manifest, request, cancellationToken);
        ValueTask<bool>? ahead = null;
        try
        {
            // :: Step 4: relay events; a runner that dies mid-stream becomes an in-band error event.
            using (stream)
            {
                while (true)
                {
                    GenerationEvent next;
                    try
                    {
                        var moved = ahead ?? stream.MoveNext(cancellationToken);
                        ahead = null;
                        // The runner ends the connection only after the last event: an end before it is the runner's.
                        if (!await moved) throw new EndOfStreamException("The runner closed the stream before the request finished.");
                        next = RunnerProtocol.FromProto(stream.Current);
                        if (next is GenerationEvent.TextDelta delta) (next, ahead) = JoinWaitingText(stream, delta, cancellationToken);
                    }
                    catch (Exception e) when (IsTransportFailure(e) && cancellationToken.IsCancellationRequested)
                    {
                        // The client went away and the read under way failed with it: not the runner's fault.
                        throw new OperationCanceledException(cancellationToken);
                    }
                    catch (Exception e) when (IsTransportFailure(e))
                    {
                        Abandon(runner);
                        next = new GenerationEvent.Failed(ErrorKind.Internal, RunnerLost(runner, e.Message).Message, "runner_failed");
                    }
                    yield return next;
                    if (next is GenerationEvent.Finished or GenerationEvent.Failed) yield break;
                }
            }
        }
        finally
        {
            // A read begun ahead of a consumer that then stopped fails when the stream is disposed, unobserved: as expected.
            Release(runner, request.KeepAlive);
        }
    }

    /// <summary>How a runner's socket fails when the runner is gone (or sends something that is not a frame).</summary>
    private static bool IsTransportFailure(Exception e) => e is SocketException or IOException or InvalidDataException or ObjectDisposedException;

    /// <summary>
    /// Joins to <paramref name="first"/> the text deltas the runner has already sent, so a consumer that fell behind
    /// (an HTTP client, a slow network) catches up in one write instead of one per token. Never waits: the first read
    /// that is not already complete, or that brings something other than text, is handed back to be awaited next.
    /// </summary>
    private static (GenerationEvent Delta, ValueTask<bool> Ahead) JoinWaitingText(RunnerEventStream stream,
        GenerationEvent.TextDelta first, CancellationToken cancellationToken)
    {
        System.Text.StringBuilder? text = null;
        var tokens = first.Tokens;
        while (true)
        {
            var moved = stream.MoveNext(cancellationToken);
            if (!moved.IsCompletedSuccessfully || !moved.Result || stream.Current.KindCase != Protocol.GenerateEvent.KindOneofCase.Delta)
                return (text is null ? first : new GenerationEvent.TextDelta(text.ToString(), tokens), moved);
            text ??= new System.Text.StringBuilder(first.Text);
            text.Append(stream.Current.Delta.Text);
            tokens += stream.Current.Delta.Tokens;
        }
    }

    /// <summary>
    /// Step 2: find the model's runner or start one (a dead runner is replaced here) and hold it.
    /// Step 3: open the stream and wait for the runner's answer: refusals (400, 429) come back as exceptions.
    /// A runner that fails before the request reached its engine (it died a moment ago, before the OS told
    /// us) is dropped and the request tried once more on a fresh runner: the client cannot tell.
    /// </summary>
    private async Task<(LoadedRunner Runner, RunnerEventStream Stream)> OpenStreamAsync(
        ModelManifest manifest, GenerationRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var runner = await AcquireRunnerAsync(manifest, cancellationToken);
            RunnerEventStream? stream = null;
            try
            {
                stream = RunnerEventStream.Open(runner.Process.GenerationSocketPath, RunnerProtocol.ToProto(request));
                if (!await stream.MoveNext(cancellationToken))
                    throw new EndOfStreamException("The runner closed the connection before answering.");
                var answer = stream.Current;
                if (answer.KindCase == Protocol.GenerateEvent.KindOneofCase.Refused)
                    throw RunnerErrors.FromRefusal(answer.Refused);
                if (answer.KindCase != Protocol.GenerateEvent.KindOneofCase.Accepted)
                    throw new InvalidDataException($"The runner answered a request with {answer.KindCase}.");
                return (runner, stream);
            }
            catch (Exception e) when (IsTransportFailure(e) && cancellationToken.IsCancellationRequested)
            {
                // The caller went away while the stream opened: not the runner's fault (see GenerateAsync).
                stream?.Dispose();
                Release(runner, request.KeepAlive);
                throw new OperationCanceledException(cancellationToken);
            }
            catch (Exception e) when (IsTransportFailure(e))
            {
                stream?.Dispose();
                Abandon(runner);
                Release(runner, request.KeepAlive);
                if (attempt < 2) continue;
                throw RunnerLost(runner, e.Message);
            }
            catch
            {
                stream?.Dispose();
                Release(runner, request.KeepAlive);
                throw;
            }
        }
    }

    /// <summary>A runner whose transport failed is never used again, even before the OS reports its exit.</summary>
    private void Abandon(LoadedRunner runner)
    {
        if (!runner.Abandon()) return;
        Forget(runner);
        _ = runner.Process.DisposeAsync().AsTask();
    }

    public async Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default)
    {
        var manifest = _store.Find(model)
            ?? throw SovereignException.NotFound($"The model '{model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");
        var runner = await AcquireRunnerAsync(manifest, cancellationToken);
        var info = new LoadedModelInfo(runner.Manifest.Reference, runner.Manifest.Digest, runner.Manifest.Size, runner.Process.InitialStatus.ContextSize,
            runner.Process.InitialStatus.Slots, runner.Active, 0, runner.LastUsed, runner.Process.ProcessId)
        {
            MemoryBytes = runner.MemoryBytes,
        };
        Release(runner, keepAlive);
        return info with { ExpiresAt = runner.ExpiresAt() };
    }

    public async Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default)
    {
        var manifest = _store.Find(model);
        if (manifest is null) return false;
        var key = KeyOf(manifest);
        if (!_runners.TryGetValue(key, out var entry) || !entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) return false;
        var runner = entry.Value.Result;
        // A model that is generating finishes first: it unloads as soon as it is idle.
        runner.SetKeepAlive(TimeSpan.Zero);
        if (!runner.TryRetire()) return true;
        Forget(runner);
        await runner.Process.DisposeAsync();
        return true;
    }

    /// <summary>Ends the hold a request had on its runner and applies the keep-alive it asked for.</summary>
    private void Release(LoadedRunner runner, TimeSpan? keepAlive)
    {
        if (keepAlive is { } k) runner.SetKeepAlive(k);
        runner.Leave(_time.GetUtcNow());
        // keep_alive 0: unload as soon as the last request leaves (the reaper would wait up to a second).
        if (keepAlive == TimeSpan.Zero && runner.TryRetire())
        {
            Forget(runner);
            _ = runner.Process.DisposeAsync().AsTask();
        }
    }

    /// <summary>Removes the runner's entry, unless a newer runner for the same model has taken its place.</summary>
    private void Forget(LoadedRunner runner)
    {
        var key = KeyOf(runner.Manifest);
        if (_runners.TryGetValue(key, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully && entry.Value.Result == runner)
            _runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry));
    }

    private static string KeyOf(ModelManifest m) => $"{m.Reference}@{m.Digest}";

    private async Task<LoadedRunner> AcquireRunnerAsync(ModelManifest manifest, CancellationToken cancellationToken)
    {
        var key = KeyOf(manifest);
        while (true)
        {
            var entry = _runners.GetOrAdd(key, _ => new Lazy<Task<LoadedRunner>>(() => StartRunnerAsync(manifest)));
            LoadedRunner runner;
            try
            {
                runner = await entry.Value.WaitAsync(cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed load is not cached: the next request tries again.
                _runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry));
                throw;
            }
            if (!runner.Process.HasExited)
            {
                // Fails only when eviction or keep-alive retired it a moment ago: then load it anew.
                if (runner.TryEnter(_time.GetUtcNow())) return runner;
                _runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry));
                continue;
            }
            LogRunnerRestart(_logger, manifest.Reference, runner.Process.ExitDescription());
            if (_runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry))) await runner.Process.DisposeAsync();
        }
    }

    private async Task<LoadedRunner> StartRunnerAsync(ModelManifest manifest)
    {
        // Loads are shared by every waiting request, so none of their cancellations may abort it.
        var ct = _shutdown.Token;
        await _store.VerifyAsync(manifest, ct);
        var blob = _store.BlobPath(manifest.Digest);
        var contextPerSlot = Math.Min(_options.Engine.ContextSize, manifest.ContextLength is > 0 and var train ? train : int.MaxValue);
        var need = MemoryEstimate.Estimate(Models.Gguf.GgufReader.Read(blob), _options.Engine.Slots, contextPerSlot) + (manifest.ProjectorSize ?? 0);

        await _loadGate.WaitAsync(ct);
        try
        {
            await MakeRoomAsync(manifest, need);
            return await LaunchAsync(manifest, need);
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>The budget in bytes: configured, or 75% of the machine's physical memory.</summary>
    public long MemoryBudget => _options.Engine.MemoryBudget > 0
        ? _options.Engine.MemoryBudget
        : (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.75);

    /// <summary>Unloads least-recently-used idle models until <paramref name="need"/> fits; refuses when it cannot.</summary>
    private async Task MakeRoomAsync(ModelManifest manifest, long need)
    {
        var budget = MemoryBudget;
        if (need > budget)
        {
            throw new SovereignException(ErrorKind.Unavailable,
                $"The model '{manifest.Reference}' needs about {need / (1024 * 1024)} MiB (weights, and the KV cache for {_options.Engine.Slots} slots of {_options.Engine.ContextSize} tokens), more than the memory budget of {budget / (1024 * 1024)} MiB (Sovereign:Engine:MemoryBudget). Lower Slots or ContextSize, or raise the budget.",
                code: "model_too_large");
        }
        while (true)
        {
            var loaded = LoadedRunners().ToList();
            var used = loaded.Sum(r => r.MemoryBytes);
            if (used + need <= budget) return;
            var victim = loaded.Where(r => r.Active == 0).OrderBy(r => r.LastUsed).FirstOrDefault();
            if (victim is null)
            {
                throw new SovereignException(ErrorKind.Unavailable,
                    $"Not enough memory to load '{manifest.Reference}' now: it needs about {need / (1024 * 1024)} MiB and the models in use hold {used / (1024 * 1024)} MiB of the {budget / (1024 * 1024)} MiB budget. Try again when they are idle.",
                    code: "insufficient_memory") { RetryAfter = TimeSpan.FromSeconds(5) };
            }
            if (!victim.TryRetire()) continue; // it got busy a moment ago; choose again
            LogRunnerEvicted(_logger, victim.Manifest.Reference, manifest.Reference);
            Forget(victim);
            await victim.Process.DisposeAsync();
        }
    }

    private IEnumerable<LoadedRunner> LoadedRunners()
    {
        foreach (var entry in _runners.Values)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
            var r = entry.Value.Result;
            if (!r.IsRetired && !r.Process.HasExited) yield return r;
        }
    }

    private async Task<LoadedRunner> LaunchAsync(ModelManifest manifest, long memoryBytes)
    {
        var ct = _shutdown.Token;
        var engine = _options.Engine;
        var settings = new RunnerSettings
        {
            SocketPath = SocketPathFor(_paths),
            ParentProcessId = Environment.ProcessId,
            Engine = new EngineSettings
            {
                ModelPath = _store.BlobPath(manifest.Digest),
                Slots = engine.Slots,
                ContextSize = engine.ContextSize,
                QueueLimit = engine.QueueLimit,
                PrefillChunk = engine.PrefillChunk,
                PrefillStallTarget = engine.PrefillStallTarget,
                Threads = engine.Threads,
                GpuLayers = engine.GpuLayers,
                FlashAttention = engine.FlashAttention,
                ChatTemplateOverride = manifest.ChatTemplateOverride,
                ProjectorPath = manifest.ProjectorDigest is { } projector ? _store.BlobPath(projector) : null,
            },
        };
        var started = _time.GetTimestamp();
        Interlocked.Increment(ref _runnerStarts);
        var process = await RunnerProcess.StartAsync(_command.Value, settings, engine.LoadTimeout, ct);
        _backend = process.InitialStatus.NativeBackend;
        LogRunnerStarted(_logger, manifest.Reference, process.ProcessId, _time.GetElapsedTime(started).TotalMilliseconds);
        return new LoadedRunner(manifest, process, memoryBytes, _options.Engine.KeepAlive, _time.GetUtcNow());
    }

    /// <summary>
    /// A fresh socket path under the data folder, or under the temp folder when the data folder's path is too
    /// long for a Unix socket address (108 bytes on Linux).
    /// </summary>
    private static string SocketPathFor(SovereignPaths paths)
    {
        var name = $"runner-{Environment.ProcessId}-{Interlocked.Increment(ref s_socketCounter)}.sock";
        Directory.CreateDirectory(paths.Runtime);
        var preferred = Path.Combine(paths.Runtime, name);
        if (System.Text.Encoding.UTF8.GetByteCount(preferred) < 100) return preferred;
        var fallback = Path.Combine(Path.GetTempPath(), "sovereign-run");
        Directory.CreateDirectory(fallback);
        return Path.Combine(fallback, name);
    }

    private static int s_socketCounter;

    private SovereignException RunnerLost(LoadedRunner runner, string failure)
    {
        var description = runner.Process.HasExited ? runner.Process.ExitDescription() : failure;
        LogRunnerFailed(_logger, runner.Manifest.Reference, description);
        return new SovereignException(ErrorKind.Unavailable,
            $"The runner for '{runner.Manifest.Reference}' stopped unexpectedly ({description}); it will be restarted on the next request.",
            code: "runner_failed") { RetryAfter = TimeSpan.FromSeconds(1) };
    }

    private async Task ReapIdleAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var now = _time.GetUtcNow();
                foreach (var (key, entry) in _runners)
                {
                    if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
                    var r = entry.Value.Result;
                    if (r.ExpiresAt() is { } expires && now >= expires && r.TryRetire())
                    {
                        _runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry));
                        LogRunnerIdle(_logger, r.Manifest.Reference);
                        await r.Process.DisposeAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task StopAsync(Lazy<Task<LoadedRunner>> entry)
    {
        if (!entry.IsValueCreated) return;
        try
        {
            var r = await entry.Value;
            await r.Process.DisposeAsync();
        }
        catch (Exception)
        {
            // A runner that never started has nothing to stop.
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container may hand us out under two service types and dispose us for each.
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _shutdown.CancelAsync();
        await _reaper;
        foreach (var entry in _runners.Values) await StopAsync(entry);
        _runners.Clear();
        _shutdown.Dispose();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Started runner for {Model} (pid {Pid}) in {Milliseconds:0} ms")]
    private static partial void LogRunnerStarted(ILogger logger, string model, int pid, double milliseconds);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Runner for {Model} failed: {Reason}")]
    private static partial void LogRunnerFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Runner for {Model} had exited ({Reason}); starting a new one")]
    private static partial void LogRunnerRestart(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Unloading idle model {Model}")]
    private static partial void LogRunnerIdle(ILogger logger, string model);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Unloading idle model {Model} to make room for {Needed}")]
    private static partial void LogRunnerEvicted(ILogger logger, string model, string needed);

    /// <summary>
    /// A runner, its use count and keep-alive. Retiring (before an unload) and entering (before a request) exclude
    /// each other, so a model is never unloaded while a request holds it. Thread-safe.
    /// </summary>
    private sealed class LoadedRunner(ModelManifest manifest, RunnerProcess process, long memoryBytes, TimeSpan keepAlive, DateTimeOffset now)
    {
        private readonly Lock _gate = new();
        private int _active;
        private bool _retired;
        private DateTimeOffset _lastUsed = now;
        private TimeSpan _keepAlive = keepAlive;

        public ModelManifest Manifest { get; } = manifest;
        public RunnerProcess Process { get; } = process;
        public long MemoryBytes { get; } = memoryBytes;

        public int Active
        {
            get { lock (_gate) return _active; }
        }

        public bool IsRetired
        {
            get { lock (_gate) return _retired; }
        }

        public DateTimeOffset LastUsed
        {
            get { lock (_gate) return _lastUsed; }
        }

        public bool TryEnter(DateTimeOffset now)
        {
            lock (_gate)
            {
                if (_retired) return false;
                _active++;
                _lastUsed = now;
                return true;
            }
        }

        public void Leave(DateTimeOffset now)
        {
            lock (_gate)
            {
                _active--;
                _lastUsed = now;
            }
        }

        public void SetKeepAlive(TimeSpan keepAlive)
        {
            lock (_gate) _keepAlive = keepAlive;
        }

        /// <summary>Retires it even while in use (its process is gone or broken); false when already retired.</summary>
        public bool Abandon()
        {
            lock (_gate)
            {
                if (_retired) return false;
                _retired = true;
                return true;
            }
        }

        /// <summary>Marks it for unloading when nobody uses it; false when a request holds it.</summary>
        public bool TryRetire()
        {
            lock (_gate)
            {
                if (_active > 0 || _retired) return false;
                _retired = true;
                return true;
            }
        }

        /// <summary>When it unloads if left idle; null when it is in use or kept loaded indefinitely.</summary>
        public DateTimeOffset? ExpiresAt()
        {
            lock (_gate)
            {
                if (_active > 0 || _keepAlive < TimeSpan.Zero) return null;
                return _lastUsed + _keepAlive;
            }
        }
    }
}
