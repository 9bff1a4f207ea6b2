using Sovereign.Bench.Stats;
using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.Workloads;

/// <summary>The figures of the sweep and the interference workload, from hand-made traces (no timing involved).</summary>
public sealed class WorkloadSummaryTests
{
    private static StreamTrace Trace(double sent, params double[] chunks) =>
        new() { SentAt = sent, ChunkTimes = chunks, EndedAt = chunks.Length > 0 ? chunks[^1] : sent, CompletionTokens = chunks.Length, PromptTokens = 10 };

    [Fact]
    public void Sweep_aggregate_is_every_token_over_the_wall_time()
    {
        // Two streams sent at 0; 5 tokens each; the last token at 2.0 s → 10 tokens / 2 s.
        var a = Trace(0, 0.5, 0.75, 1.0, 1.25, 1.5);
        var b = Trace(0, 1.0, 1.25, 1.5, 1.75, 2.0);
        var failed = new StreamTrace { SentAt = 0, EndedAt = 0.1, Error = "HTTP 429: queue full" };

        var level = ConcurrencySweep.Summarise(3, [a, b, failed]);

        Assert.Equal(3, level.Streams);
        Assert.Equal(2, level.Completed);
        Assert.Equal(1, level.Failed);
        Assert.Equal(["HTTP 429: queue full"], level.Errors);
        Assert.Equal(2.0, level.WallSeconds, 12);
        Assert.Equal(5.0, level.AggregateTokensPerSecond!.Value, 12);
        // Each stream decodes 4 tokens in 1 s after its first.
        Assert.Equal(4.0, level.PerStreamTokensPerSecond!.P50, 9);
        Assert.Equal(750.0, level.TtftMs!.P50, 9);
        Assert.Equal(8, level.ItlMs!.Count);
        Assert.Equal(250.0, level.ItlMs.Max, 9);
        Assert.Equal(10, level.PromptTokens);
        // One stream failed, so the streams never all decoded together.
        Assert.Null(level.AggregateDecodeTokensPerSecond);
    }

    [Fact]
    public void Sweep_decode_aggregate_counts_tokens_while_every_stream_decodes()
    {
        // Every stream decodes between 1.0 s (b's first token) and 1.5 s (a's last): a and b each add 2 tokens then.
        var a = Trace(0, 0.5, 0.75, 1.0, 1.25, 1.5);
        var b = Trace(0, 1.0, 1.25, 1.5, 1.75, 2.0);
        Assert.Equal(8.0, ConcurrencySweep.Summarise(2, [a, b]).AggregateDecodeTokensPerSecond!.Value, 9);
        // With one stream it is that stream's decode rate.
        Assert.Equal(a.DecodeTokensPerSecond!.Value, ConcurrencySweep.Summarise(1, [a]).AggregateDecodeTokensPerSecond!.Value, 9);
        // Streams that never overlap (more streams than slots) have none.
        Assert.Null(ConcurrencySweep.Summarise(2, [a, Trace(0, 2.0, 2.5)]).AggregateDecodeTokensPerSecond);
    }

    [Fact]
    public void A_level_run_several_times_reports_its_median_run_and_every_runs_rate()
    {
        var fast = ConcurrencySweep.Summarise(1, [Trace(0, 0.1, 0.2, 0.3)]);
        var middle = ConcurrencySweep.Summarise(1, [Trace(0, 0.1, 0.3, 0.5)]);
        var slow = ConcurrencySweep.Summarise(1, [Trace(0, 0.1, 0.5, 0.9)]);

        var level = ConcurrencySweep.Median([slow, fast, middle]);

        Assert.Equal(middle.AggregateDecodeTokensPerSecond, level.AggregateDecodeTokensPerSecond);
        Assert.Equal(middle.WallSeconds, level.WallSeconds);
        Assert.Equal([slow.AggregateDecodeTokensPerSecond, fast.AggregateDecodeTokensPerSecond, middle.AggregateDecodeTokensPerSecond], level.AggregateDecodeRuns);
        Assert.Equal(fast.AggregateDecodeTokensPerSecond, ConcurrencySweep.Median([fast]).AggregateDecodeTokensPerSecond);
    }

    [Fact]
    public void Sweep_decode_aggregate_counts_the_tokens_of_joined_pieces_not_the_pieces()
    {
        // 9 tokens in 3 pieces of 3 tokens (6 characters each) from 1.0 s to 2.0 s: 6 tokens arrive after the first
        // piece, in 1 s; counting pieces would say 2 tokens/s.
        var joined = new StreamTrace
        {
            SentAt = 0, ChunkTimes = [1.0, 1.5, 2.0], ChunkLengths = [6, 6, 6], EndedAt = 2.0, CompletionTokens = 9, PromptTokens = 10,
        };
        Assert.Equal(6.0, ConcurrencySweep.Summarise(1, [joined]).AggregateDecodeTokensPerSecond!.Value, 9);
        // Pieces of unequal length share the tokens by their length.
        Assert.Equal(8.0, (joined with { ChunkLengths = [2, 8, 8] }).TokensWithin(1.0, 2.0), 9);
        // A stream's own decode rate leaves out its whole first piece, as the aggregate does.
        Assert.Equal(6.0, joined.DecodeTokensPerSecond!.Value, 9);
    }

    [Fact]
    public void Sweep_with_nothing_finished_has_no_rates()
    {
        var level = ConcurrencySweep.Summarise(1, [new StreamTrace { SentAt = 0, Error = "connection failed" }]);
        Assert.Null(level.AggregateTokensPerSecond);
        Assert.Null(level.TtftMs);
        Assert.Equal(1, level.Failed);
    }

    [Fact]
    public void Interference_splits_background_gaps_into_before_and_during_the_prefill()
    {
        // Steady state from 1.0; the long prompt is sent at 2.0 and its first token comes at 3.0.
        var s1 = Trace(0, 0.5, 1.1, 1.2, 1.3, 2.1, 2.9, 3.0, 3.1);
        var s2 = Trace(0, 0.5, 1.5, 1.6, 2.5, 3.0);
        var longPrompt = new StreamTrace { SentAt = 2.0, ChunkTimes = [3.0, 3.05], EndedAt = 3.05, PromptTokens = 2000 };

        var result = InterferenceWorkload.Summarise([s1, s2], beforeStart: 1.0, longSent: 2.0, longPrompt, []);

        // Before: gaps ending in [1.0, 2.0): s1 0.6, 0.1, 0.1; s2 1.0, 0.1.
        Assert.Equal(5, result.ItlBeforeMs!.Count);
        Assert.Equal(1000.0, result.ItlBeforeMs.Max, 6);
        Assert.Equal(100.0, result.ItlBeforeMs.P50, 6);
        // During: gaps ending in [2.0, 3.0]: s1 0.8, 0.8, 0.1; s2 0.9, 0.5 (the one at 3.0 counts).
        Assert.Equal(5, result.ItlDuringMs!.Count);
        Assert.Equal(900.0, result.ItlDuringMs.Max, 6);
        Assert.Equal(800.0, result.ItlDuringMs.P50, 6);
        Assert.Equal(2000, result.LongPromptTokens);
        Assert.Equal(1000.0, result.LongPromptTtftMs!.Value, 6);
        Assert.Equal(result.ItlDuringMs.P95 / result.ItlBeforeMs.P95, result.ItlP95Ratio!.Value, 9);
        Assert.Equal(9.0, result.ItlMaxRatio!.Value, 6);
        Assert.Equal(1.0, result.LongPromptFirstTokenAt, 9);
        Assert.Equal(11, result.Timeline.Count);
    }

    [Fact]
    public void Interference_without_a_long_prompt_has_no_during_window()
    {
        var result = InterferenceWorkload.Summarise([Trace(0, 1, 2)], 0.5, double.NaN, null, ["a background stream ended"]);
        Assert.Null(result.ItlBeforeMs);
        Assert.Null(result.ItlDuringMs);
        Assert.Null(result.ItlP95Ratio);
        Assert.Equal(["a background stream ended"], result.Errors);
    }

    [Fact]
    public void Arrivals_under_load_compare_their_ttft_with_the_unloaded_one()
    {
        // Four arrivals, TTFT 200, 300, 400 and 1000 ms; one failed; unloaded 100 ms.
        var arrivals = new[]
        {
            Trace(0, 0.2, 0.25), Trace(1, 1.3, 1.35), Trace(2, 2.4, 2.45), Trace(3, 4.0, 4.05),
            new StreamTrace { SentAt = 5, EndedAt = 5.1, Error = "HTTP 503" },
        };

        var result = ArrivalsUnderLoadWorkload.Summarise(7, arrivals, unloadedTtftMs: 100, ["arrival: HTTP 503"]);

        Assert.Equal(7, result.BackgroundStreams);
        Assert.Equal(5, result.Arrivals);
        Assert.Equal(4, result.TtftMs!.Count);
        Assert.Equal(10, result.PromptTokens);
        Assert.Equal(result.TtftMs.P50 / 100, result.TtftP50OverUnloaded!.Value, 9);
        Assert.Equal(result.TtftMs.P95 / 100, result.TtftP95OverUnloaded!.Value, 9);
        Assert.True(result.TtftP95OverUnloaded > 8 && result.TtftP95OverUnloaded <= 10, $"p95 ratio {result.TtftP95OverUnloaded}");
        Assert.Equal(["arrival: HTTP 503"], result.Errors);
    }

    [Fact]
    public void Arrivals_without_an_unloaded_ttft_have_no_ratio()
    {
        var result = ArrivalsUnderLoadWorkload.Summarise(7, [Trace(0, 0.2, 0.25)], unloadedTtftMs: null, []);
        Assert.NotNull(result.TtftMs);
        Assert.Null(result.TtftP95OverUnloaded);
    }

    [Fact]
    public void Single_stream_figures_are_medians_over_the_runs()
    {
        var runs = new[]
        {
            Trace(0, 0.1, 0.2, 0.3),   // 2 tokens in 0.2 s → 10/s, TTFT 100 ms
            Trace(1, 1.2, 1.3, 1.4),   // 10/s, TTFT 200 ms
            Trace(2, 2.3, 2.35, 2.4),  // 20/s, TTFT 300 ms
        };
        var result = SingleStreamWorkload.Summarise(runs);
        Assert.Equal(3, result.Runs);
        Assert.Equal(10.0, result.DecodeTokensPerSecond!.Value, 6);
        Assert.Equal(200.0, result.TtftMs!.Value, 6);
        Assert.Equal(3, result.DecodeTokensPerSecondRuns.Count);
        Assert.Equal(10, result.PromptTokens);
        Assert.Equal(3, result.CompletionTokens);
        Assert.Equal(50.0, result.PromptTokensPerSecond!.Value, 6);
    }
}
