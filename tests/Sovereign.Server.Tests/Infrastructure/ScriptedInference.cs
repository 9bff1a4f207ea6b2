using System.Runtime.CompilerServices;
using Sovereign.Core.Generation;

namespace Sovereign.Server.Tests.Infrastructure;

/// <summary>
/// An engine that plays back a script: the events a test hands it, or an exception before the first event. Records
/// every request it was given. Thread-safe.
/// </summary>
internal sealed class ScriptedInference : IInferenceService
{
    private readonly Func<GenerationRequest, CancellationToken, IAsyncEnumerable<GenerationEvent>> _script;
    private readonly List<GenerationRequest> _requests = [];

    public ScriptedInference(Func<GenerationRequest, CancellationToken, IAsyncEnumerable<GenerationEvent>> script) => _script = script;

    /// <summary>Always answers with these events.</summary>
    public ScriptedInference(params GenerationEvent[] events) : this((_, ct) => Play(events, ct))
    {
    }

    public IReadOnlyList<GenerationRequest> Requests
    {
        get
        {
            lock (_requests) return [.. _requests];
        }
    }

    public string Backend => "scripted (tests)";

    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        lock (_requests) _requests.Add(request);
        return _script(request, cancellationToken);
    }

    public IReadOnlyList<LoadedModelInfo> Loaded() =>
        [new LoadedModelInfo("stories:latest", "sha256:abc", 1234, 2048, 8, 1, 0, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), 4242)];

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => Task.FromResult(false);

    public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(Loaded()[0]);

    public static async IAsyncEnumerable<GenerationEvent> Play(IEnumerable<GenerationEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return e;
        }
    }

    /// <summary>A typical successful generation of <paramref name="pieces"/>.</summary>
    public static GenerationEvent[] Story(FinishReason reason, params string[] pieces) =>
    [
        new GenerationEvent.Started(7),
        .. pieces.Select(p => new GenerationEvent.TextDelta(p, 1)),
        new GenerationEvent.Finished(reason, new GenerationUsage(7, pieces.Length, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20))),
    ];
}
