using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grpc.Core;
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
/// its keep-alive. Thread-safe.
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

    public IReadOnlyList<LoadedModelInfo> Loaded()
    {
        var list = new List<LoadedModelInfo>();
        foreach (var entry in _runners.Values)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
            var r = entry.Value.Result;
            if (r.Process.HasExited) continue;
            list.Add(new LoadedModelInfo(r.Manifest.Reference, r.Manifest.Digest, r.Manifest.Size, r.Process.InitialStatus.ContextSize,
                r.Process.InitialStatus.Slots, r.Active, 0, r.LastUsed, r.Process.ProcessId));
        }
        return list;
    }

    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // :: Step 1: resolve the model in the store (404 when absent).
        var manifest = _store.Find(request.Model)
            ?? throw SovereignException.NotFound($"The model '{request.Model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");

        // :: Step 2: find its runner or start one; a dead runner is replaced here.
        var runner = await GetRunnerAsync(manifest, cancellationToken);

        // :: Step 3: open the stream. Refusals before the first event (400, 429) come back as the call's status.
        runner.Enter(_time.GetUtcNow());
        try
        {
            AsyncServerStreamingCall<Protocol.GenerateEvent> call;
            try
            {
                call = runner.Process.Client.Generate(RunnerService.ToProto(request), cancellationToken: cancellationToken);
                // Wait for the response headers, so a refusal surfaces as an exception rather than a half-started stream.
                await call.ResponseHeadersAsync;
            }
            catch (RpcException e) when (RunnerErrors.FromRpc(e) is { } engineError)
            {
                throw engineError;
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                throw RunnerLost(runner, e);
            }

            // :: Step 4: relay events; a runner that dies mid-stream becomes an in-band error event.
            using (call)
            {
                var reader = call.ResponseStream;
                while (true)
                {
                    GenerationEvent? next;
                    SovereignException? refused = null;
                    try
                    {
                        next = await reader.MoveNext(cancellationToken) ? FromProto(reader.Current) : null;
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
                    {
                        yield break;
                    }
                    catch (RpcException e)
                    {
                        refused = RunnerErrors.FromRpc(e);
                        next = refused is null
                            ? new GenerationEvent.Failed(ErrorKind.Internal, RunnerLost(runner, e).Message, "runner_failed")
                            : null;
                    }
                    if (refused is not null) throw refused;
                    if (next is null) yield break;
                    yield return next;
                    if (next is GenerationEvent.Finished or GenerationEvent.Failed) yield break;
                }
            }
        }
        finally
        {
            runner.Leave(_time.GetUtcNow());
        }
    }

    public async Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default)
    {
        var manifest = _store.Find(model)
            ?? throw SovereignException.NotFound($"The model '{model}' does not exist. Import it with `sov models import FILE.gguf`.", "model", "model_not_found");
        var runner = await GetRunnerAsync(manifest, cancellationToken);
        runner.Enter(_time.GetUtcNow());
        runner.Leave(_time.GetUtcNow());
        return Loaded().First(m => m.ProcessId == runner.Process.ProcessId);
    }

    public async Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default)
    {
        var manifest = _store.Find(model);
        if (manifest is null) return false;
        var key = KeyOf(manifest);
        if (!_runners.TryRemove(key, out var entry)) return false;
        await StopAsync(entry);
        return true;
    }

    private static string KeyOf(ModelManifest m) => $"{m.Reference}@{m.Digest}";

    private async Task<LoadedRunner> GetRunnerAsync(ModelManifest manifest, CancellationToken cancellationToken)
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
            if (!runner.Process.HasExited) return runner;
            LogRunnerRestart(_logger, manifest.Reference, runner.Process.ExitDescription());
            if (_runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry))) await runner.Process.DisposeAsync();
        }
    }

    private async Task<LoadedRunner> StartRunnerAsync(ModelManifest manifest)
    {
        // Loads are shared by every waiting request, so none of their cancellations may abort it.
        var ct = _shutdown.Token;
        await _store.VerifyAsync(manifest, ct);
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
                Threads = engine.Threads,
                GpuLayers = engine.GpuLayers,
                FlashAttention = engine.FlashAttention,
                ChatTemplateOverride = manifest.ChatTemplateOverride,
            },
        };
        var started = _time.GetTimestamp();
        var process = await RunnerProcess.StartAsync(_command.Value, settings, engine.LoadTimeout, ct);
        _backend = process.InitialStatus.NativeBackend;
        LogRunnerStarted(_logger, manifest.Reference, process.ProcessId, _time.GetElapsedTime(started).TotalMilliseconds);
        return new LoadedRunner(manifest, process, _time.GetUtcNow());
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

    private SovereignException RunnerLost(LoadedRunner runner, RpcException e)
    {
        var description = runner.Process.HasExited ? runner.Process.ExitDescription() : e.Status.Detail;
        LogRunnerFailed(_logger, runner.Manifest.Reference, description);
        return new SovereignException(ErrorKind.Unavailable,
            $"The runner for '{runner.Manifest.Reference}' stopped unexpectedly ({description}); it will be restarted on the next request.",
            code: "runner_failed") { RetryAfter = TimeSpan.FromSeconds(1) };
    }

    private static GenerationEvent FromProto(Protocol.GenerateEvent e) => e.KindCase switch
    {
        Protocol.GenerateEvent.KindOneofCase.Started => new GenerationEvent.Started(e.Started.PromptTokens),
        Protocol.GenerateEvent.KindOneofCase.Delta => new GenerationEvent.TextDelta(e.Delta.Text, e.Delta.Tokens),
        Protocol.GenerateEvent.KindOneofCase.Finished => new GenerationEvent.Finished(
            e.Finished.Reason == "length" ? FinishReason.Length : FinishReason.Stop,
            new GenerationUsage(e.Finished.PromptTokens, e.Finished.CompletionTokens,
                TimeSpan.FromMilliseconds(e.Finished.PromptMs), TimeSpan.FromMilliseconds(e.Finished.DecodeMs))),
        Protocol.GenerateEvent.KindOneofCase.Error => new GenerationEvent.Failed(ErrorKind.Internal, e.Error.Message, e.Error.Code),
        _ => new GenerationEvent.Failed(ErrorKind.Internal, "The runner sent an event this server does not understand.", "runner_protocol"),
    };

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
                    if (r.Active == 0 && now - r.LastUsed >= _options.Engine.KeepAlive && _runners.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedRunner>>>(key, entry)))
                    {
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

    /// <summary>A runner and its use count. Thread-safe.</summary>
    private sealed class LoadedRunner(ModelManifest manifest, RunnerProcess process, DateTimeOffset now)
    {
        private int _active;
        private long _lastUsedTicks = now.UtcTicks;

        public ModelManifest Manifest { get; } = manifest;
        public RunnerProcess Process { get; } = process;
        public int Active => Volatile.Read(ref _active);
        public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

        public void Enter(DateTimeOffset now)
        {
            Interlocked.Increment(ref _active);
            Interlocked.Exchange(ref _lastUsedTicks, now.UtcTicks);
        }

        public void Leave(DateTimeOffset now)
        {
            Interlocked.Exchange(ref _lastUsedTicks, now.UtcTicks);
            Interlocked.Decrement(ref _active);
        }
    }
}
