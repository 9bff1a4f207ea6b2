using Sovereign.Bench.Driver;
using Sovereign.Bench.Stats;
using Sovereign.Core.Generation;
using Sovereign.Inference.Engine;

namespace Sovereign.Bench.Raw;

/// <summary>
/// Sovereign's own engine loop (<see cref="LlamaEngine"/>) in this process, with the settings a runner would use but
/// without the runner process, gRPC or HTTP: between the raw loop and the served API, it tells which layer costs what.
/// Owns the engine; thread-safe as the engine is; dispose to free it.
/// </summary>
public sealed class EngineBaseline : IDisposable
{
    private readonly LlamaEngine _engine;
    private int _requests;

    private EngineBaseline(LlamaEngine engine) => _engine = engine;

    public static EngineBaseline Load(EngineSettings settings) => new(LlamaEngine.Load(settings));

    /// <summary>One greedy request of exactly <paramref name="maxTokens"/> tokens; its text deltas timed as they are read.</summary>
    public async Task<StreamTrace> GenerateAsync(string prompt, int maxTokens, BenchClock clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var request = new GenerationRequest
        {
            Id = $"bench-{Interlocked.Increment(ref _requests)}",
            Model = "bench",
            Prompt = prompt,
            MaxTokens = maxTokens,
            Sampling = SamplingParameters.Greedy,
            IgnoreEos = true,
        };
        var sentAt = clock.Now;
        var times = new List<double>(maxTokens);
        int? promptTokens = null, completion = null;
        string? error = null, finish = null;
        var reader = _engine.Submit(request, cancellationToken);
        await foreach (var e in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case GenerationEvent.Started started:
                    promptTokens = started.PromptTokens;
                    break;
                case GenerationEvent.TextDelta { Text.Length: > 0 }:
                    times.Add(clock.Now);
                    break;
                case GenerationEvent.Finished finished:
                    completion = finished.Usage.CompletionTokens;
                    finish = finished.Reason.ToString().ToLowerInvariant();
                    break;
                case GenerationEvent.Failed failed:
                    error = failed.Message;
                    break;
            }
        }
        return new StreamTrace
        {
            SentAt = sentAt,
            ChunkTimes = times,
            EndedAt = clock.Now,
            PromptTokens = promptTokens,
            CompletionTokens = completion,
            FinishReason = finish,
            Error = error,
        };
    }

    public void Dispose() => _engine.Dispose();
}
