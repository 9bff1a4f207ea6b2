using Sovereign.Bench.Driver;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// One level of the concurrency sweep: N streams, each with its own prompt (no shared prefix), all sent at once, each
/// generating the same fixed number of tokens. Bounded: N requests, each with its own timeout.
/// </summary>
internal static class ConcurrencySweep
{
    public static async Task<ConcurrencyResult> RunLevelAsync(OpenAiStreamClient client, string model, int streams, Func<int, string> promptFor,
        int tokens, CancellationToken cancellationToken)
    {
        var calls = Enumerable.Range(0, streams).Select(i => new CompletionCall(model, promptFor(i), tokens)).ToArray();
        var tasks = calls.Select(c => client.CompleteAsync(c, cancellationToken)).ToArray();
        var traces = await Task.WhenAll(tasks).ConfigureAwait(false);
        return Summarise(streams, traces);
    }

    /// <summary>
    /// One level from several runs of it: the run whose batched decode rate is the median (the lower middle one of an
    /// even count; runs without the rate count as the lowest), with every run's rate beside it. Pure.
    /// </summary>
    public static ConcurrencyResult Median(IReadOnlyList<ConcurrencyResult> runs)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Count);
        var ordered = runs.OrderBy(r => r.AggregateDecodeTokensPerSecond ?? double.NegativeInfinity).ToArray();
        return ordered[(ordered.Length - 1) / 2] with { AggregateDecodeRuns = [.. runs.Select(r => r.AggregateDecodeTokensPerSecond)] };
    }

    /// <summary>The level's figures from its streams' traces. Pure.</summary>
    public static ConcurrencyResult Summarise(int streams, IReadOnlyList<StreamTrace> traces)
    {
        var ok = traces.Where(t => t.Succeeded).ToArray();
        var start = traces.Count > 0 ? traces.Min(t => t.SentAt) : 0;
        var end = ok.Length > 0 ? ok.Max(t => t.ChunkTimes[^1]) : start;
        var wall = end - start;
        var itl = ok.SelectMany(t => t.InterTokenGaps()).Select(s => s * 1000).ToArray();
        var ttft = ok.Select(t => t.TtftSeconds * 1000).OfType<double>().ToArray();
        // Steady state: from the moment the last stream got its first token to the moment the first one got its last,
        // every stream is decoding; tokens arriving then, over that time, are the batched decode rate.
        double? decodeAggregate = null;
        if (ok.Length == streams && ok.Length > 0)
        {
            var from = ok.Max(t => t.ChunkTimes[0]);
            var to = ok.Min(t => t.ChunkTimes[^1]);
            if (to > from) decodeAggregate = Statistics.Rate(ok.Sum(t => t.TokensWithin(from, to)), to - from);
        }
        return new ConcurrencyResult
        {
            Streams = streams,
            Completed = ok.Length,
            Failed = traces.Count - ok.Length,
            WallSeconds = wall,
            AggregateTokensPerSecond = ok.Length == 0 ? null : Statistics.Rate(ok.Sum(t => t.Tokens), wall),
            AggregateDecodeTokensPerSecond = decodeAggregate,
            PerStreamTokensPerSecond = Summary.Of(ok.Select(t => t.DecodeTokensPerSecond).OfType<double>().ToArray()),
            TtftMs = Summary.Of(ttft),
            ItlMs = Summary.Of(itl),
            PromptTokens = ok.Select(t => t.PromptTokens).OfType<int>().Cast<int?>().FirstOrDefault(),
            Errors = [.. traces.Where(t => !t.Succeeded).Select(t => t.Error ?? "no text came back").Distinct()],
            ItlSamplesMs = itl,
            TtftSamplesMs = ttft,
        };
    }
}
