using Sovereign.Bench.Driver;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// Long generations that keep a server busy while a workload measures something else: one stream per prompt, each
/// counted as its text arrives, all stopped together (their connections closed, so the server frees the sequences).
/// Used by <see cref="InterferenceWorkload"/> and <see cref="ArrivalsUnderLoadWorkload"/>. Thread-safe.
/// </summary>
internal sealed class BackgroundStreams : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<StreamTrace>[] _streams;
    private readonly List<TokenBarrier> _barriers = [];

    /// <summary>Pieces of text each stream has produced by the time it counts as decoding in steady state.</summary>
    public const int WarmPieces = 4;

    /// <summary>Starts the streams; <paramref name="cancellationToken"/> abandons them (it is not a stop).</summary>
    public BackgroundStreams(OpenAiStreamClient client, string model, IReadOnlyList<string> prompts, int maxTokens, CancellationToken cancellationToken)
    {
        _streams = new Task<StreamTrace>[prompts.Count];
        Warm = ReachedAsync(WarmPieces);
        for (var i = 0; i < prompts.Count; i++)
        {
            var index = i;
            var call = new CompletionCall(model, prompts[i], maxTokens)
            {
                Stop = _stop.Token,
                OnText = _ =>
                {
                    lock (_barriers)
                    {
                        foreach (var barrier in _barriers) barrier.Count(index);
                    }
                },
            };
            _streams[i] = client.CompleteAsync(call, cancellationToken);
        }
        AnyEnded = Task.WhenAny(_streams);
    }

    public int Count => _streams.Length;

    /// <summary>Completes once every stream has produced <see cref="WarmPieces"/> pieces of text.</summary>
    public Task Warm { get; }

    /// <summary>Completes when any stream has ended (by itself: too short, or failed).</summary>
    public Task AnyEnded { get; }

    /// <summary>
    /// A barrier reached once every stream has produced <paramref name="pieces"/> pieces of text, counted from the
    /// start. Make each one before the streams could have produced that many (right after starting them).
    /// </summary>
    public Task ReachedAsync(int pieces)
    {
        var barrier = new TokenBarrier(_streams.Length, pieces);
        lock (_barriers) _barriers.Add(barrier);
        return barrier.Reached;
    }

    /// <summary>True when <paramref name="barrier"/> came before any stream ended.</summary>
    public async Task<bool> AllRunningWhenAsync(Task barrier) =>
        await Task.WhenAny(barrier, AnyEnded).ConfigureAwait(false) == barrier;

    /// <summary>
    /// Stops every stream and returns what each saw; a stopped stream counts as a success, and each distinct failure is
    /// added to <paramref name="errors"/>.
    /// </summary>
    public async Task<StreamTrace[]> StopAsync(ICollection<string> errors)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        var traces = await Task.WhenAll(_streams).ConfigureAwait(false);
        foreach (var e in traces.Where(t => !t.Succeeded).Select(t => $"background stream: {t.Error ?? "no text came back"}").Distinct())
            errors.Add(e);
        return traces;
    }

    public void Dispose() => _stop.Dispose();
}
