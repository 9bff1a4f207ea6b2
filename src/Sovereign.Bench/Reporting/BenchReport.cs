using System.Text.Json.Serialization;
using Sovereign.Bench.Machine;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Reporting;

// The results of one run, exactly as results.json holds them (snake_case). Rates are tokens per second, latencies
// milliseconds, sizes bytes; a number in a name is a word of its own (batching_ratio_4). A figure that could not be
// measured is null, and the model's errors say why. Samples
// kept only for the plots are [JsonIgnore]d. All records are immutable once the run has filled them in.

/// <summary>The whole run.</summary>
public sealed record BenchReport
{
    public string Schema { get; init; } = "sovereign-bench/1";
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; set; }
    public double DurationSeconds { get; set; }
    /// <summary>"sovereign" (a `sov serve` started by the benchmark) or "target" (--target).</summary>
    public required string Mode { get; init; }
    /// <summary>The endpoint driven (the started server's address, or --target).</summary>
    public string? Target { get; set; }
    public required bool Quick { get; init; }
    public required MachineInfo Machine { get; init; }
    /// <summary>The native backend the endpoint reported in GET /health, when it has one.</summary>
    public string? Backend { get; set; }
    public string? ServerVersion { get; set; }
    /// <summary>Whether the endpoint accepted ignore_eos (fixed lengths); false means generations may be shorter than asked.</summary>
    public bool IgnoreEosAccepted { get; set; } = true;
    public required BenchSettings Settings { get; init; }
    public List<ModelReport> Models { get; init; } = [];
    public EmbeddingsReport Embeddings { get; set; } = EmbeddingsReport.NotAvailable("not measured in this run.");
    public ClusterReport Cluster { get; set; } = ClusterReport.NotAvailable("not measured in this run.");
    public RetrievalReport Retrieval { get; set; } = RetrievalReport.NotAvailable("not measured in this run.");
    /// <summary>Problems that concern the whole run (per-model ones are in each model's errors).</summary>
    public List<string> Errors { get; init; } = [];
}

/// <summary>Every setting the run used, so that a second run can repeat it.</summary>
public sealed record BenchSettings
{
    public required IReadOnlyList<int> Concurrency { get; init; }
    /// <summary>--tokens when given; else each model's own default (see each model's tokens).</summary>
    public int? Tokens { get; init; }
    /// <summary>Fewest single-stream runs of each way (after a warm-up).</summary>
    public required int Repetitions { get; init; }
    /// <summary>Runs of each concurrency level; the run with the median batched decode rate is reported.</summary>
    public int SweepRepetitions { get; init; } = 1;
    /// <summary>More rounds are run until each single-stream phase has taken this long (at most 25 rounds).</summary>
    public double SingleStreamMinimumSeconds { get; init; }
    /// <summary>Prompt tokens of the single-stream and sweep requests (approximate in target mode).</summary>
    public required int PromptTokens { get; init; }
    /// <summary>CPU threads for the raw baseline and the server's engine; 0 = every core.</summary>
    public required int Threads { get; init; }
    public required int EffectiveThreads { get; init; }
    /// <summary>Context tokens per sequence asked of the server and the baselines (capped by each model's own).</summary>
    public required int ContextSize { get; init; }
    public required int InterferenceStreams { get; init; }
    public required int InterferenceLongPromptTokens { get; init; }
    public required int InterferenceBeforeTokens { get; init; }
    /// <summary>The `sov` arguments the server was started with (sovereign mode).</summary>
    public IReadOnlyList<string> ServerArguments { get; init; } = [];
    /// <summary>Engine slots of the server and of the in-process engine baseline (sovereign mode).</summary>
    public int? Slots { get; init; }
    public int? PrefillChunk { get; init; }
    public string? ModelCache { get; init; }
    public required string Sampling { get; init; }
    /// <summary>Index sizes of the retrieval latency figures (null when the workload was skipped).</summary>
    public IReadOnlyList<int>? RetrievalChunks { get; init; }
    /// <summary>The retrieval workload's reranker (--reranker), as given.</summary>
    public string? Reranker { get; init; }
}

/// <summary>One model's figures.</summary>
public sealed record ModelReport
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public string? File { get; init; }
    public string? Digest { get; set; }
    public long? SizeBytes { get; init; }
    public long? Parameters { get; init; }
    public string? Quantization { get; init; }
    public int? ContextLength { get; init; }
    /// <summary>Tokens generated per request.</summary>
    public required int Tokens { get; init; }

    /// <summary>Served ÷ raw single-stream decode tokens/s (the serving overhead; 1 = none).</summary>
    public double? OverheadRatio { get; set; }
    /// <summary>Served ÷ raw of the fastest run of each (see <see cref="SingleStreamResult.DecodeTokensPerSecondBest"/>).</summary>
    public double? OverheadRatioBest { get; set; }
    /// <summary>
    /// In-process engine ÷ raw single-stream decode tokens/s (the engine loop's own cost, without HTTP or gRPC). Raw and
    /// engine are measured in separate phases, each interleaved with served runs; the ratio is chained through them:
    /// (engine ÷ served of phase 2) × (served ÷ raw of phase 1).
    /// </summary>
    public double? EngineRatio { get; set; }
    /// <summary>
    /// Aggregate decode tokens/s at 4 streams ÷ at 1 stream: how much batching multiplies decoding, which is what the
    /// issue's target (≥ 1.7 on ~400M; 53–62 against 28–31 tok/s for a synchronous loop) measures.
    /// </summary>
    [JsonPropertyName("batching_ratio_4")]
    public double? BatchingRatio4 { get; set; }
    /// <summary>The same at 8 streams.</summary>
    [JsonPropertyName("batching_ratio_8")]
    public double? BatchingRatio8 { get; set; }
    /// <summary>End-to-end aggregate tokens/s at 4 streams ÷ at 1 (prefills included: what a batch job sees).</summary>
    [JsonPropertyName("batching_ratio_4_end_to_end")]
    public double? BatchingRatio4EndToEnd { get; set; }
    /// <summary>The same at 8 streams.</summary>
    [JsonPropertyName("batching_ratio_8_end_to_end")]
    public double? BatchingRatio8EndToEnd { get; set; }
    /// <summary>
    /// The raw batching yardstick: aggregate decode tokens/s of a synchronous loop decoding N sequences in one batch
    /// (<see cref="Raw.RawBatchBaseline"/>), at each sweep level up to the server's slots, in this run.
    /// </summary>
    [JsonPropertyName("raw_batched")]
    public List<BatchedResult> RawBatched { get; } = [];
    /// <summary>The raw loop's aggregate decode at 4 sequences ÷ at 1: what batching_ratio_4 can reach on this machine.</summary>
    [JsonPropertyName("raw_batching_ratio_4")]
    public double? RawBatchingRatio4 { get; set; }
    /// <summary>The same at 8 sequences.</summary>
    [JsonPropertyName("raw_batching_ratio_8")]
    public double? RawBatchingRatio8 { get; set; }
    /// <summary>Served aggregate decode at 4 streams ÷ the raw loop's at 4 sequences: how much of the batched rate serving keeps.</summary>
    [JsonPropertyName("batched_overhead_ratio_4")]
    public double? BatchedOverheadRatio4 { get; set; }
    /// <summary>
    /// Sovereign's engine in the benchmark process (<see cref="Raw.EngineBaseline"/>, no runner, gRPC or HTTP) with N
    /// streams submitted at once: aggregate decode tokens/s at each sweep level up to the server's slots, in this run.
    /// Between the raw loop and the served sweep, it tells whether a batching shortfall is the engine's or the serving layers'.
    /// </summary>
    [JsonPropertyName("engine_batched")]
    public List<BatchedResult> EngineBatched { get; } = [];
    /// <summary>The engine's aggregate decode at 4 streams ÷ the raw loop's at 4 sequences: the engine loop's own cost under batching.</summary>
    [JsonPropertyName("engine_batched_ratio_4")]
    public double? EngineBatchedRatio4 { get; set; }
    /// <summary>Served aggregate decode at 4 streams ÷ the in-process engine's at 4: the runner, gRPC and HTTP's cost under batching.</summary>
    [JsonPropertyName("served_over_engine_batched_4")]
    public double? ServedOverEngineBatched4 { get; set; }
    /// <summary>Served ÷ raw time to first token.</summary>
    public double? TtftRatio { get; set; }
    /// <summary>
    /// TTFT p95 at 8 streams ÷ the unloaded (single-stream) TTFT. The fairness target, p95 ≤ 1.5 × unloaded TTFT
    /// plus one prefill, is about ≤ 2.5 here, since an unloaded TTFT is one prefill of the same prompt and one decode step.
    /// </summary>
    [JsonPropertyName("ttft_p95_at_8_over_unloaded")]
    public double? TtftP95At8OverUnloaded { get; set; }
    /// <summary>
    /// TTFT p95 of requests arriving one at a time while 7 streams generate ÷ the unloaded TTFT: the fairness target's
    /// figure (see <see cref="Workloads.ArrivalsUnderLoadWorkload"/> for why the sweep's burst of 8 cannot be).
    /// </summary>
    [JsonPropertyName("ttft_p95_arriving_at_8_over_unloaded")]
    public double? TtftP95ArrivingAt8OverUnloaded { get; set; }

    /// <summary>CPU time per token in each process during the served single-stream runs of phase 1.</summary>
    public ServedCpuCost? ServedCpu { get; set; }

    public SingleStreamResult? Raw { get; set; }
    public SingleStreamResult? Engine { get; set; }
    /// <summary>Served, interleaved with raw (phase 1); overhead_ratio compares these two.</summary>
    public SingleStreamResult? Served { get; set; }
    /// <summary>Served again, interleaved with the engine (phase 2).</summary>
    public SingleStreamResult? ServedWithEngine { get; set; }
    public List<ConcurrencyResult> Concurrency { get; init; } = [];
    public InterferenceResult? Interference { get; set; }
    public ArrivalsUnderLoadResult? ArrivalsUnderLoad { get; set; }
    public ModelMemory? Memory { get; set; }
    public List<TargetCheck> Targets { get; init; } = [];
    public List<string> Errors { get; init; } = [];
}

/// <summary>One way of running a single stream (raw, engine or served), over repeated runs; figures are medians.</summary>
public sealed record SingleStreamResult
{
    public required int Runs { get; init; }
    /// <summary>Runs that started although the machine had not been quiet within a second (other work was running).</summary>
    public int RunsStartedBusy { get; init; }
    public int? PromptTokens { get; init; }
    public int? CompletionTokens { get; init; }
    public double? DecodeTokensPerSecond { get; init; }
    public double? PromptTokensPerSecond { get; init; }
    public double? TtftMs { get; init; }
    /// <summary>
    /// The fastest run's decode tokens/s. Other work on a shared machine only ever slows a run down, so the best of
    /// several is the closer estimate of an undisturbed run; the median is the headline.
    /// </summary>
    public double? DecodeTokensPerSecondBest { get; init; }
    /// <summary>Each run's decode tokens/s, in run order.</summary>
    public IReadOnlyList<double> DecodeTokensPerSecondRuns { get; init; } = [];
    public IReadOnlyList<double> TtftMsRuns { get; init; } = [];
    public Summary? ItlMs { get; init; }

    [JsonIgnore]
    public IReadOnlyList<double> ItlSamplesMs { get; init; } = [];
}

/// <summary>One level of the concurrency sweep: N streams sent at once.</summary>
public sealed record ConcurrencyResult
{
    public required int Streams { get; init; }
    public required int Completed { get; init; }
    public required int Failed { get; init; }
    /// <summary>From the first request sent to the last stream's end.</summary>
    public required double WallSeconds { get; init; }
    /// <summary>End to end: completion tokens of the streams that finished ÷ wall time (prefills and queueing included).</summary>
    public double? AggregateTokensPerSecond { get; init; }
    /// <summary>
    /// Batched decode: tokens of all streams per second while every stream was decoding (from the last stream's first
    /// token to the first stream's last). Null when the streams never all decoded at once (more streams than slots).
    /// </summary>
    public double? AggregateDecodeTokensPerSecond { get; init; }
    /// <summary>
    /// The batched decode rate of every run of this level, in the order run; the level reports the run with the median
    /// of these (one run a level scattered by a third on a busy 2-core machine, and the batching ratios divide two).
    /// </summary>
    public IReadOnlyList<double?> AggregateDecodeRuns { get; init; } = [];
    /// <summary>Each stream's decode tokens/s (first token excluded).</summary>
    public Summary? PerStreamTokensPerSecond { get; init; }
    public Summary? TtftMs { get; init; }
    /// <summary>Gaps between consecutive pieces of text, over every stream.</summary>
    public Summary? ItlMs { get; init; }
    public int? PromptTokens { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyList<double> ItlSamplesMs { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyList<double> TtftSamplesMs { get; init; } = [];
}

/// <summary>A long prompt arriving while other streams generate: what its prefill does to their inter-token latency.</summary>
public sealed record InterferenceResult
{
    public required int BackgroundStreams { get; init; }
    public int? LongPromptTokens { get; init; }
    /// <summary>The long request's time to first token (its prefill, chunked between the others' decode steps).</summary>
    public double? LongPromptTtftMs { get; init; }
    /// <summary>Inter-token latency of the background streams in steady state, before the long prompt was sent.</summary>
    public Summary? ItlBeforeMs { get; init; }
    /// <summary>Inter-token latency of the background streams while the long prompt was prefilled.</summary>
    public Summary? ItlDuringMs { get; init; }
    /// <summary>ITL p95 during ÷ before.</summary>
    public double? ItlP95Ratio { get; init; }
    /// <summary>Longest single gap during ÷ ITL p50 before: how long the worst stall was, in normal tokens.</summary>
    public double? ItlMaxRatio { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>(time since the long prompt was sent in s, gap in ms) of every background token, for the plot.</summary>
    [JsonIgnore]
    public IReadOnlyList<(double At, double GapMs)> Timeline { get; init; } = [];

    [JsonIgnore]
    public double LongPromptFirstTokenAt { get; init; }
}

/// <summary>Requests arriving one at a time while the background streams generate: the time to first token they see.</summary>
public sealed record ArrivalsUnderLoadResult
{
    public required int BackgroundStreams { get; init; }
    /// <summary>Arrivals measured (each sent when the one before it had finished, all while every background stream ran).</summary>
    public required int Arrivals { get; init; }
    public int? PromptTokens { get; init; }
    public Summary? TtftMs { get; init; }
    /// <summary>The single stream's TTFT p50 (the sweep's level 1), with a prompt of the same length.</summary>
    public double? UnloadedTtftMs { get; init; }
    public double? TtftP50OverUnloaded { get; init; }
    public double? TtftP95OverUnloaded { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyList<double> TtftSamplesMs { get; init; } = [];
}

/// <summary>
/// CPU time per generated token while the served single-stream runs decoded (from each run's first piece of text to
/// its end, over the tokens after the first), by process, in milliseconds (clock ticks of 10 ms, summed over the runs). On a machine whose cores all decode, the CPU spent outside llama.cpp's threads is what
/// serving takes from decoding.
/// </summary>
public sealed record ServedCpuCost
{
    public required int Runs { get; init; }
    /// <summary>Tokens the figures are divided by: those after each run's first piece of text.</summary>
    public required int Tokens { get; init; }
    /// <summary>The server: reading the runner's generation socket, the SSE stream, HTTP.</summary>
    public double ServerMsPerToken { get; init; }
    /// <summary>The runner's llama.cpp threads (the engine thread and its OpenMP workers): decoding itself.</summary>
    public double RunnerDecodeMsPerToken { get; init; }
    /// <summary>The runner's other threads: its generation socket's sends and watch, its gRPC service, its thread pool.</summary>
    public double RunnerOtherMsPerToken { get; init; }
    /// <summary>This benchmark process: the HTTP client reading the stream.</summary>
    public double BenchClientMsPerToken { get; init; }
}

/// <summary>Peak resident memory of the model's runner process (and of the server that ran it).</summary>
public sealed record ModelMemory
{
    public int? RunnerProcessId { get; init; }
    public long? RunnerPeakRssBytes { get; init; }
    public int? ServerProcessId { get; init; }
    public long? ServerPeakRssBytes { get; init; }
    /// <summary>Peak RSS of this benchmark process, which held the raw and engine baselines.</summary>
    public long? BenchProcessPeakRssBytes { get; init; }
}

/// <summary>One of the targets, checked against this run's figures (never a test failure).</summary>
/// <param name="Name">The figure (e.g. overhead_ratio).</param>
/// <param name="Rule">The target in words.</param>
/// <param name="Threshold">The bound.</param>
/// <param name="Value">This run's figure; null when it was not measured.</param>
/// <param name="AtMost">True when the figure must stay at or below the bound; false when it must reach it.</param>
public sealed record TargetCheck(string Name, string Rule, double Threshold, double? Value, bool AtMost = false)
{
    /// <summary>Null when the figure is missing.</summary>
    public bool? Met => Value is { } v ? (AtMost ? v <= Threshold : v >= Threshold) : null;
}

/// <summary>A workload that was not run, and why.</summary>
public sealed record WorkloadStatus(string Status, string? Reason)
{
    public static WorkloadStatus NotAvailable(string reason) => new("not_available", reason);
}

/// <summary>One level of a batching yardstick: the raw loop's sequences, or the in-process engine's streams.</summary>
public sealed record BatchedResult(
    [property: JsonPropertyName("sequences")] int Sequences,
    [property: JsonPropertyName("aggregate_decode_tokens_per_second")] double? AggregateDecodeTokensPerSecond);
