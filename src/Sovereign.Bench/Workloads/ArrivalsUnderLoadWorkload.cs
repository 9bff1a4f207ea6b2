using Sovereign.Bench.Driver;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// Requests arriving, one at a time, at a server already generating for other streams: the time to first token a user
/// sees when the server is busy. This is the issue's fairness figure ("TTFT p95 at 8 concurrent ≤ 1.5 × the unloaded
/// TTFT plus one prefill"): with the background streams, each arrival is the 8th request in flight.
/// <para>
/// The sweep's level of 8 measures something else: 8 requests sent in the same instant. Their 8 prompts are 8 prefills
/// of compute however they are ordered, so the last first token comes after about 8 prefills on a machine whose cores
/// are all busy decoding; no scheduler brings that p95 near 2.5 × one prefill. Arrivals spread in time are what a
/// service sees, and what a scheduler's fairness decides.
/// </para>
/// <list type="number">
/// <item>start the background streams (long generations) and wait until each has produced a few tokens (steady state);</item>
/// <item>send the arrivals one after another, each with its own prompt of the sweep's length, each for two tokens;</item>
/// <item>close the background streams and summarise.</item>
/// </list>
/// Bounded: background + arrivals requests, each waited for at most its timeout, and the whole workload at most
/// <see cref="Deadline"/>.
/// </summary>
internal static class ArrivalsUnderLoadWorkload
{
    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);
    private const int ArrivalMaxTokens = 2;

    public static async Task<ArrivalsUnderLoadResult> RunAsync(OpenAiStreamClient client, string model, IReadOnlyList<string> backgroundPrompts,
        int backgroundMaxTokens, Func<int, string> arrivalPrompt, int arrivals, double? unloadedTtftMs, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(arrivals, 1);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);

        // :: Step 1: background streams, until each is decoding.
        using var background = new BackgroundStreams(client, model, backgroundPrompts, backgroundMaxTokens, deadline.Token);
        var errors = new List<string>();
        var arrived = new List<StreamTrace>();

        // :: Step 2: the arrivals, each sent when the one before it has finished; all while every background stream runs.
        if (await background.AllRunningWhenAsync(background.Warm).ConfigureAwait(false))
        {
            for (var i = 0; i < arrivals && !background.AnyEnded.IsCompleted; i++)
            {
                var trace = await client.CompleteAsync(new CompletionCall(model, arrivalPrompt(i), ArrivalMaxTokens), deadline.Token).ConfigureAwait(false);
                if (background.AnyEnded.IsCompleted) break; // it was not all under load: leave it out
                arrived.Add(trace);
                if (!trace.Succeeded) errors.Add($"arrival: {trace.Error ?? "no text came back"}");
            }
        }
        if (arrived.Count < arrivals)
            errors.Add($"a background stream ended after {arrived.Count} of {arrivals} arrivals; raise their max tokens or the context size");

        // :: Step 3: stop the background streams and summarise.
        await background.StopAsync(errors).ConfigureAwait(false);
        return Summarise(background.Count, arrived, unloadedTtftMs, errors);
    }

    /// <summary>The arrivals' TTFT, and its p50 and p95 ÷ the unloaded TTFT. Pure.</summary>
    public static ArrivalsUnderLoadResult Summarise(int backgroundStreams, IReadOnlyList<StreamTrace> arrivals, double? unloadedTtftMs, IReadOnlyList<string> errors)
    {
        var ttft = arrivals.Where(t => t.Succeeded).Select(t => t.TtftSeconds * 1000).OfType<double>().ToArray();
        var summary = Summary.Of(ttft);
        return new ArrivalsUnderLoadResult
        {
            BackgroundStreams = backgroundStreams,
            Arrivals = arrivals.Count,
            PromptTokens = arrivals.Select(t => t.PromptTokens).OfType<int>().Cast<int?>().FirstOrDefault(),
            TtftMs = summary,
            UnloadedTtftMs = unloadedTtftMs,
            TtftP50OverUnloaded = Statistics.Ratio(summary?.P50, unloadedTtftMs),
            TtftP95OverUnloaded = Statistics.Ratio(summary?.P95, unloadedTtftMs),
            Errors = errors,
            TtftSamplesMs = ttft,
        };
    }
}
