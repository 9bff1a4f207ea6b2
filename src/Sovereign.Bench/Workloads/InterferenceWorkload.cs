using Sovereign.Bench.Driver;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// A long prompt arriving while other streams generate:
/// <list type="number">
/// <item>start the background streams (long generations) and wait until each has produced a few tokens (steady state);</item>
/// <item>record their gaps until each has produced <c>beforeTokens</c> more: the "before" window;</item>
/// <item>send the long prompt; the "during" window lasts until its first token, i.e. while it is prefilled;</item>
/// <item>close the background streams (the server frees their sequences) and summarise.</item>
/// </list>
/// Bounded: 1 + background requests, each waited for at most its timeout, and the whole workload at most
/// <see cref="Deadline"/>.
/// </summary>
internal static class InterferenceWorkload
{
    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);
    private const int LongPromptMaxTokens = 4;

    public static async Task<InterferenceResult> RunAsync(OpenAiStreamClient client, BenchClock clock, string model,
        IReadOnlyList<string> backgroundPrompts, int backgroundMaxTokens, string longPrompt, int beforeTokens, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);

        // :: Step 1: background streams.
        using var background = new BackgroundStreams(client, model, backgroundPrompts, backgroundMaxTokens, deadline.Token);
        var before = background.ReachedAsync(BackgroundStreams.WarmPieces + beforeTokens);

        // :: Step 2: the "before" window, from steady state until each has produced beforeTokens more.
        var errors = new List<string>();
        double beforeStart = double.NaN, longSent = double.NaN;
        StreamTrace? longTrace = null;
        if (await background.AllRunningWhenAsync(background.Warm).ConfigureAwait(false))
        {
            beforeStart = clock.Now;
            if (await background.AllRunningWhenAsync(before).ConfigureAwait(false))
            {
                // :: Step 3: the long prompt; its first token ends the "during" window.
                longSent = clock.Now;
                longTrace = await client.CompleteAsync(new CompletionCall(model, longPrompt, LongPromptMaxTokens), deadline.Token).ConfigureAwait(false);
                if (!longTrace.Succeeded) errors.Add($"long prompt: {longTrace.Error ?? "no text came back"}");
            }
        }
        if (longTrace is null) errors.Add("a background stream ended before the long prompt could be sent; raise their max tokens or the context size");

        // :: Step 4: stop the background streams and summarise.
        var traces = await background.StopAsync(errors).ConfigureAwait(false);
        return Summarise(traces, beforeStart, longSent, longTrace, errors);
    }

    /// <summary>
    /// Gaps that ended in [beforeStart, longSent) are "before"; gaps that ended in [longSent, the long prompt's first
    /// token] are "during". Pure.
    /// </summary>
    public static InterferenceResult Summarise(IReadOnlyList<StreamTrace> background, double beforeStart, double longSent, StreamTrace? longTrace,
        IReadOnlyList<string> errors)
    {
        var longFirst = longTrace?.ChunkTimes.Count > 0 ? longTrace.ChunkTimes[0] : double.NaN;
        var beforeGaps = double.IsNaN(longSent) ? [] : background.SelectMany(t => t.InterTokenGapsEndingWithin(beforeStart, longSent)).Select(s => s * 1000).ToArray();
        // The token that arrives together with the long prompt's first one was held up by its last chunk too: include it.
        var duringGaps = double.IsNaN(longFirst) ? [] : background.SelectMany(t => t.InterTokenGapsEndingWithin(longSent, Math.BitIncrement(longFirst))).Select(s => s * 1000).ToArray();
        var beforeSummary = Summary.Of(beforeGaps);
        var duringSummary = Summary.Of(duringGaps);
        var timeline = double.IsNaN(longSent)
            ? []
            : background.SelectMany(t => t.ChunkTimes.Skip(1).Select((at, i) => (At: at - longSent, GapMs: (at - t.ChunkTimes[i]) * 1000))).OrderBy(p => p.At).ToArray();
        return new InterferenceResult
        {
            BackgroundStreams = background.Count,
            LongPromptTokens = longTrace?.PromptTokens,
            LongPromptTtftMs = longTrace?.TtftSeconds * 1000,
            ItlBeforeMs = beforeSummary,
            ItlDuringMs = duringSummary,
            ItlP95Ratio = Statistics.Ratio(duringSummary?.P95, beforeSummary?.P95),
            ItlMaxRatio = Statistics.Ratio(duringSummary?.Max, beforeSummary?.P50),
            Errors = errors,
            Timeline = timeline,
            LongPromptFirstTokenAt = double.IsNaN(longFirst) ? double.NaN : longFirst - longSent,
        };
    }
}
