using Sovereign.Bench.Machine;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>One way of producing a single stream: the raw loop, the in-process engine, or the HTTP API.</summary>
/// <param name="Name">raw, engine or served.</param>
/// <param name="Run">One generation of the workload's prompt and length.</param>
internal sealed record SingleStreamRunner(string Name, Func<CancellationToken, Task<StreamTrace>> Run);

/// <summary>
/// Raw vs served: the same prompt and length through each runner, one warm-up each (loads, caches, JIT), then rounds
/// in which every runner runs once in turn, so that a machine that slows down or speeds up during the run affects all
/// of them alike. At least <c>repetitions</c> rounds, more while the rounds so far took less than <c>minimum</c> (a
/// fast model's run lasts a fraction of a second, and one burst of other work would decide its median), and never more
/// than <see cref="MaxRounds"/>. Figures are medians over the rounds, with the best run beside them.
/// </summary>
internal static class SingleStreamWorkload
{
    /// <summary>Each run waits for a quiet machine (at most this many cores busy) ...</summary>
    private const double QuietCores = 0.3;
    /// <summary>... over this window (which also lets the previous runner's spinning workers go to sleep) ...</summary>
    private static readonly TimeSpan QuietWindow = TimeSpan.FromMilliseconds(100);
    /// <summary>... but no longer than this; the run then starts anyway and is counted as started busy.</summary>
    private static readonly TimeSpan QuietTimeout = TimeSpan.FromSeconds(1);

    public const int MaxRounds = 25;

    public static async Task<Dictionary<string, SingleStreamResult>> RunAsync(IReadOnlyList<SingleStreamRunner> runners, int repetitions, TimeSpan minimum,
        List<string> errors, CancellationToken cancellationToken)
    {
        var traces = runners.ToDictionary(r => r.Name, _ => new List<StreamTrace>());
        var busyStarts = new Dictionary<string, int>(StringComparer.Ordinal);
        var broken = new HashSet<string>(StringComparer.Ordinal);
        // :: Step 1: warm-up, not counted.
        foreach (var r in runners)
        {
            var warm = await TryRunAsync(r, errors, [], cancellationToken).ConfigureAwait(false);
            if (warm is null) broken.Add(r.Name);
        }
        // :: Step 2: interleaved rounds.
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; round < MaxRounds && (round < repetitions || started.Elapsed < minimum); round++)
        {
            foreach (var r in runners)
            {
                if (broken.Contains(r.Name)) continue;
                if (await TryRunAsync(r, errors, busyStarts, cancellationToken).ConfigureAwait(false) is { } trace) traces[r.Name].Add(trace);
            }
        }
        return traces.Where(t => t.Value.Count > 0)
            .ToDictionary(t => t.Key, t => Summarise(t.Value) with { RunsStartedBusy = busyStarts.GetValueOrDefault(t.Key) });
    }

    private static async Task<StreamTrace?> TryRunAsync(SingleStreamRunner runner, List<string> errors, Dictionary<string, int> busyStarts, CancellationToken cancellationToken)
    {
        if (!await CpuActivity.WaitForQuietAsync(QuietCores, QuietWindow, QuietTimeout, cancellationToken).ConfigureAwait(false))
            busyStarts[runner.Name] = busyStarts.GetValueOrDefault(runner.Name) + 1;
        try
        {
            var trace = await runner.Run(cancellationToken).ConfigureAwait(false);
            if (trace.Succeeded) return trace;
            errors.Add($"single stream ({runner.Name}): {trace.Error ?? "no text came back"}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            errors.Add($"single stream ({runner.Name}): {e.Message}");
        }
        return null;
    }
    /// <summary>Medians over the runs; the runs' own figures are kept beside them.</summary>
    public static SingleStreamResult Summarise(IReadOnlyList<StreamTrace> runs)
    {
        var decode = runs.Select(r => r.DecodeTokensPerSecond).OfType<double>().ToArray();
        var ttft = runs.Select(r => r.TtftSeconds * 1000).OfType<double>().ToArray();
        var prompt = runs.Select(r => r.PromptTokensPerSecond).OfType<double>().ToArray();
        var itl = runs.SelectMany(r => r.InterTokenGaps()).Select(s => s * 1000).ToArray();
        return new SingleStreamResult
        {
            Runs = runs.Count,
            PromptTokens = runs.Select(r => r.PromptTokens).OfType<int>().Cast<int?>().FirstOrDefault(),
            CompletionTokens = runs.Select(r => (int?)r.Tokens).FirstOrDefault(),
            DecodeTokensPerSecond = Statistics.Median(decode),
            DecodeTokensPerSecondBest = decode.Length > 0 ? decode.Max() : null,
            PromptTokensPerSecond = Statistics.Median(prompt),
            TtftMs = Statistics.Median(ttft),
            DecodeTokensPerSecondRuns = decode,
            TtftMsRuns = ttft,
            ItlMs = Summary.Of(itl),
            ItlSamplesMs = itl,
        };
    }
}
