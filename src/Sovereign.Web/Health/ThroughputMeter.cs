using System.Runtime.CompilerServices;
using Sovereign.Core.Generation;

namespace Sovereign.Web.Health;

/// <summary>
/// Decode speed of the generations this server finished lately (every API, not only the web interface), for the
/// health page: completion tokens over decode time of those that ended within <see cref="Window"/>. Thread-safe.
/// </summary>
public sealed class ThroughputMeter(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private const int MaxSamples = 4096;

    private readonly Queue<(DateTimeOffset At, int Tokens, TimeSpan Decode)> _samples = new();
    private readonly Lock _lock = new();

    public void Record(GenerationUsage usage)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            _samples.Enqueue((now, usage.CompletionTokens, usage.DecodeTime));
            while (_samples.Count > MaxSamples) _samples.Dequeue();
        }
    }

    /// <summary>Tokens per second and how many generations it covers; null speed when there were none.</summary>
    public (double? TokensPerSecond, int Generations, long Tokens) Recent()
    {
        var since = time.GetUtcNow() - Window;
        lock (_lock)
        {
            while (_samples.Count > 0 && _samples.Peek().At < since) _samples.Dequeue();
            long tokens = 0;
            var decode = TimeSpan.Zero;
            foreach (var s in _samples)
            {
                tokens += s.Tokens;
                decode += s.Decode;
            }
            return (decode > TimeSpan.Zero ? tokens / decode.TotalSeconds : null, _samples.Count, tokens);
        }
    }
}

/// <summary>Passes every generation through unchanged and tells the <see cref="ThroughputMeter"/> how it went. Thread-safe.</summary>
internal sealed class MeteredInferenceService(IInferenceService inner, ThroughputMeter meter) : IInferenceService
{
    public string Backend => inner.Backend;

    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in inner.GenerateAsync(request, cancellationToken).WithCancellation(cancellationToken))
        {
            if (e is GenerationEvent.Finished finished) meter.Record(finished.Usage);
            yield return e;
        }
    }

    public IReadOnlyList<LoadedModelInfo> Loaded() => inner.Loaded();

    public Task<bool> UnloadAsync(string model, CancellationToken cancellationToken = default) => inner.UnloadAsync(model, cancellationToken);

    public Task<LoadedModelInfo> LoadAsync(string model, TimeSpan? keepAlive = null, CancellationToken cancellationToken = default) =>
        inner.LoadAsync(model, keepAlive, cancellationToken);
}
