using System.Globalization;
using System.Text;
using Sovereign.Bench.Machine;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Reporting;

/// <summary>results.md: the run's figures as tables a person reads, with the plots. Stateless; thread-safe.</summary>
public static class MarkdownReport
{
    // CPU flags that decide llama.cpp's speed; the JSON keeps all of them.
    private static readonly string[] NotableFlags =
        ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "neon", "asimd", "sve"];

    public static string Render(BenchReport report, IReadOnlyList<string> plotFiles)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(plotFiles);
        var md = new StringBuilder();
        var m = report.Machine;
        md.AppendLine("# Sovereign serving benchmark").AppendLine();
        md.AppendLine(Inv($"Run {report.StartedAt:yyyy-MM-dd HH:mm:ss} UTC, {report.DurationSeconds:0} s, {(report.Quick ? "quick" : "full")}; ")
            + $"mode **{report.Mode}**, endpoint `{report.Target ?? "—"}`.").AppendLine();
        md.AppendLine("Every figure is measured in this run; ratios compare figures of the same run, so a busy or noisy machine affects both sides alike.")
            .AppendLine("Rates are tokens/s, latencies ms. Decode rates leave out the first piece of text (its first token pays for the prompt); prompt rates are prompt tokens ÷ time to first token. A server sends tokens that queued up as one piece, so tokens are shared among pieces by their length in characters, and ITL (inter-token latency) is the gap between pieces.")
            .AppendLine();

        md.AppendLine("## Machine").AppendLine();
        md.AppendLine("| | |").AppendLine("| --- | --- |");
        md.AppendLine(Inv($"| cores | {m.Cores} |"));
        md.AppendLine($"| memory | {Bytes(m.MemoryBytes)} |");
        md.AppendLine($"| load average (1 min) at start / end | {N(m.LoadAverageAtStart)} / {N(m.LoadAverageAtEnd)} (above the core count, other work shared the CPUs) |");
        md.AppendLine($"| cpu | {Cell(m.CpuModel)} |");
        md.AppendLine($"| notable cpu flags | {Cell(string.Join(" ", NotableFlags.Where(f => m.CpuFlags.Contains(f))))} |");
        md.AppendLine($"| virtual machine | {(m.VirtualMachine is { } vm ? vm ? "yes" : "no" : "—")} |");
        md.AppendLine($"| kernel memory monitor (DAMON) | {Cell(KernelMemoryMonitor.Describe(m.MemoryMonitors) ?? "none running")} |");
        md.AppendLine($"| os / runtime | {Cell(m.Os)} / {Cell(m.Runtime)} ({m.Architecture}) |");
        md.AppendLine($"| native backend | {Cell(report.Backend)} |");
        md.AppendLine($"| server version | {Cell(report.ServerVersion)} |");
        md.AppendLine();

        md.AppendLine("## Summary").AppendLine();
        md.AppendLine("overhead_ratio = served ÷ raw single-stream decode; engine_ratio = in-process engine ÷ raw (chained through the served runs of each phase); batching_ratio_N = aggregate decode tokens/s at N streams ÷ at 1 (while all N decode; end to end, prefills included, in brackets).").AppendLine();
        md.AppendLine("| model | params | quant | tokens | raw decode | engine decode | served decode | **overhead_ratio** (best runs) | engine_ratio | TTFT raw / served | **batching_ratio_4** | **batching_ratio_8** |");
        md.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in report.Models)
        {
            md.AppendLine($"| {Cell(r.Name)} | {Count(r.Parameters)} | {Cell(r.Quantization)} | {r.Tokens.ToString(CultureInfo.InvariantCulture)} | " +
                $"{N(r.Raw?.DecodeTokensPerSecond)} | {N(r.Engine?.DecodeTokensPerSecond)} | {N(r.Served?.DecodeTokensPerSecond)} | **{R(r.OverheadRatio)}** ({R(r.OverheadRatioBest)}) | {R(r.EngineRatio)} | " +
                $"{N(r.Raw?.TtftMs)} / {N(r.Served?.TtftMs)} | **{R(r.BatchingRatio4)}** ({R(r.BatchingRatio4EndToEnd)}) | **{R(r.BatchingRatio8)}** ({R(r.BatchingRatio8EndToEnd)}) |");
        }
        md.AppendLine();
        if (plotFiles.Contains("scaling.png")) md.AppendLine("![aggregate throughput relative to one stream](scaling.png)").AppendLine();

        md.AppendLine("## Targets (issue 9)").AppendLine();
        md.AppendLine("Shown for information; the benchmark never fails on speed.").AppendLine();
        md.AppendLine("| model | figure | target | value | met |").AppendLine("| --- | --- | --- | ---: | --- |");
        foreach (var r in report.Models)
        {
            foreach (var t in r.Targets)
                md.AppendLine($"| {Cell(r.Name)} | {t.Name} | {Cell(t.Rule)} | {R(t.Value)} | {(t.Met is { } met ? met ? "yes" : "**no**" : "—")} |");
        }
        md.AppendLine();

        md.AppendLine("## Single stream").AppendLine();
        md.AppendLine("Two phases, each interleaving its two ways run by run: raw and served, then engine and served. One llama.cpp context at a time lives in the benchmark process. Each run waits (up to 1 s) for a moment when the machine's CPUs are quiet; runs that could not are counted as started busy.").AppendLine();
        md.AppendLine("| model | way | runs (started busy) | prompt tokens | prompt tok/s | TTFT | decode tok/s (median) | best | decode tok/s per run | ITL p50 / p95 |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
        foreach (var r in report.Models)
        {
            foreach (var (way, s) in new[] { ("raw", r.Raw), ("served (with raw)", r.Served), ("engine", r.Engine), ("served (with engine)", r.ServedWithEngine) })
            {
                if (s is null) continue;
                md.AppendLine($"| {Cell(r.Name)} | {way} | {s.Runs.ToString(CultureInfo.InvariantCulture)} ({s.RunsStartedBusy.ToString(CultureInfo.InvariantCulture)}) | {I(s.PromptTokens)} | {N(s.PromptTokensPerSecond)} | {N(s.TtftMs)} | " +
                    $"{N(s.DecodeTokensPerSecond)} | {N(s.DecodeTokensPerSecondBest)} | {string.Join(", ", s.DecodeTokensPerSecondRuns.Select(v => N(v)))} | {N(s.ItlMs?.P50)} / {N(s.ItlMs?.P95)} |");
            }
        }
        md.AppendLine();

        if (report.Models.Any(r => r.ServedCpu is not null))
        {
            md.AppendLine("CPU time per token while one stream was served (the runs interleaved with raw; from the first piece of text to the end, so the request's set-up and prefill are left out), by process. On a machine whose cores all decode, CPU spent outside llama.cpp's threads is taken from decoding.").AppendLine();
            md.AppendLine("| model | runs | tokens | server (ms/token) | runner: llama.cpp threads | runner: other threads | benchmark client |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var r in report.Models)
            {
                if (r.ServedCpu is not { } c) continue;
                md.AppendLine($"| {Cell(r.Name)} | {c.Runs.ToString(CultureInfo.InvariantCulture)} | {c.Tokens.ToString(CultureInfo.InvariantCulture)} | {F(c.ServerMsPerToken, "0.000")} | {F(c.RunnerDecodeMsPerToken, "0.000")} | {F(c.RunnerOtherMsPerToken, "0.000")} | {F(c.BenchClientMsPerToken, "0.000")} |");
            }
            md.AppendLine();
        }

        md.AppendLine("## Concurrency sweep").AppendLine();
        md.AppendLine("All streams are sent at once, each with its own prompt. Aggregate decode = tokens of all streams per second while every stream was decoding (— when they never all were: more streams than slots); end to end = tokens of every stream ÷ time from the first request to the last token.").AppendLine();
        foreach (var r in report.Models.Where(r => r.Concurrency.Count > 0))
        {
            md.AppendLine($"### {Cell(r.Name)}").AppendLine();
            md.AppendLine("| streams | aggregate decode tok/s | end-to-end tok/s | per-stream tok/s p50 (min) | TTFT p50 | TTFT p95 | ITL p50 | ITL p95 | ITL max | failed |");
            md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var c in r.Concurrency)
            {
                md.AppendLine($"| {c.Streams.ToString(CultureInfo.InvariantCulture)} | {N(c.AggregateDecodeTokensPerSecond)} | {N(c.AggregateTokensPerSecond)} | {N(c.PerStreamTokensPerSecond?.P50)} ({N(c.PerStreamTokensPerSecond?.Min)}) | " +
                    $"{N(c.TtftMs?.P50)} | {N(c.TtftMs?.P95)} | {N(c.ItlMs?.P50)} | {N(c.ItlMs?.P95)} | {N(c.ItlMs?.Max)} | {c.Failed.ToString(CultureInfo.InvariantCulture)} |");
            }
            md.AppendLine();
            if (r.RawBatched.Count > 0)
            {
                var levels = Levels(r.RawBatched);
                md.AppendLine($"Yardstick, in this run: a synchronous LLamaSharp loop decoding N sequences in one batch (sequences → tok/s) {levels}; " +
                    $"raw_batching_ratio_4 **{R(r.RawBatchingRatio4)}**, raw_batching_ratio_8 **{R(r.RawBatchingRatio8)}**; served at 4 streams ÷ that loop at 4: **{R(r.BatchedOverheadRatio4)}**.").AppendLine();
            }
            if (r.EngineBatched.Count > 0)
            {
                var levels = Levels(r.EngineBatched);
                md.AppendLine($"Sovereign's engine in the benchmark process, N streams submitted at once, no runner, gRPC or HTTP (streams → tok/s) {levels}; " +
                    $"engine at 4 ÷ the loop at 4: **{R(r.EngineBatchedRatio4)}** (the engine's cost); served at 4 ÷ engine at 4: **{R(r.ServedOverEngineBatched4)}** (the serving layers' cost).").AppendLine();
            }
            foreach (var plot in new[] { $"throughput-{r.Name}.png", $"latency-{r.Name}.png" }.Where(plotFiles.Contains))
                md.AppendLine($"![{plot}]({plot})");
            md.AppendLine();
        }

        md.AppendLine("## Interference").AppendLine();
        md.AppendLine("A long prompt arrives while the background streams generate; their inter-token latency before it and while it is prefilled (until its first token).").AppendLine();
        md.AppendLine("| model | background streams | long prompt tokens | its TTFT | ITL before p50 / p95 | ITL during p50 / p95 / max | p95 ratio | max ÷ p50 before |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in report.Models)
        {
            if (r.Interference is not { } i) continue;
            md.AppendLine($"| {Cell(r.Name)} | {i.BackgroundStreams.ToString(CultureInfo.InvariantCulture)} | {I(i.LongPromptTokens)} | {N(i.LongPromptTtftMs)} | " +
                $"{N(i.ItlBeforeMs?.P50)} / {N(i.ItlBeforeMs?.P95)} | {N(i.ItlDuringMs?.P50)} / {N(i.ItlDuringMs?.P95)} / {N(i.ItlDuringMs?.Max)} | {R(i.ItlP95Ratio)} | {R(i.ItlMaxRatio)} |");
        }
        md.AppendLine();
        foreach (var r in report.Models.Where(r => plotFiles.Contains($"interference-{r.Name}.png")))
            md.AppendLine($"![interference-{r.Name}](interference-{r.Name}.png)");
        md.AppendLine();

        md.AppendLine("## Arrivals under load").AppendLine();
        md.AppendLine("Requests arriving one at a time, each for two tokens, while the background streams generate (each arrival is the last of N + 1 in flight): their time to first token ÷ the unloaded one (the sweep's single stream, same prompt length). This is the fairness target's figure; the sweep's TTFT at 8 streams is a burst of 8 prompts sent in the same instant, whose last first token waits for about 8 prefills of compute however they are ordered.").AppendLine();
        md.AppendLine("| model | background streams | arrivals | prompt tokens | TTFT p50 / p95 / max | unloaded TTFT | p50 ratio | **p95 ratio** |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in report.Models)
        {
            if (r.ArrivalsUnderLoad is not { } a) continue;
            md.AppendLine($"| {Cell(r.Name)} | {a.BackgroundStreams.ToString(CultureInfo.InvariantCulture)} | {a.Arrivals.ToString(CultureInfo.InvariantCulture)} | {I(a.PromptTokens)} | " +
                $"{N(a.TtftMs?.P50)} / {N(a.TtftMs?.P95)} / {N(a.TtftMs?.Max)} | {N(a.UnloadedTtftMs)} | {R(a.TtftP50OverUnloaded)} | **{R(a.TtftP95OverUnloaded)}** |");
        }
        md.AppendLine();

        md.AppendLine("## Memory").AppendLine();
        md.AppendLine("Peak resident set size (VmHWM). A fresh server is started for each model; the benchmark process held the raw and engine baselines.").AppendLine();
        md.AppendLine("| model | model file | runner peak RSS | server peak RSS | benchmark process peak RSS |").AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var r in report.Models)
            md.AppendLine($"| {Cell(r.Name)} | {Bytes(r.SizeBytes)} | {Bytes(r.Memory?.RunnerPeakRssBytes)} | {Bytes(r.Memory?.ServerPeakRssBytes)} | {Bytes(r.Memory?.BenchProcessPeakRssBytes)} |");
        md.AppendLine();

        AppendEmbeddings(md, report.Embeddings);
        AppendRetrieval(md, report.Retrieval);
        AppendCluster(md, report.Cluster);

        md.AppendLine("## Not measured").AppendLine();
        if (report.Embeddings.Status != "measured")
            md.AppendLine($"- **Embeddings**: {report.Embeddings.Status} — {report.Embeddings.Reason}");
        if (report.Retrieval.Status != "measured")
            md.AppendLine($"- **Retrieval and ingestion**: {report.Retrieval.Status} — {report.Retrieval.Reason}");
        if (report.Cluster.Status != "measured")
            md.AppendLine($"- **Cluster hop**: {report.Cluster.Status} — {report.Cluster.Reason}");
        if (!report.IgnoreEosAccepted) md.AppendLine("- The endpoint refused `ignore_eos`: generations may have ended before the requested length.");
        md.AppendLine();

        md.AppendLine("## Settings").AppendLine();
        var settings = report.Settings;
        md.AppendLine("| | |").AppendLine("| --- | --- |");
        md.AppendLine($"| concurrency | {string.Join(", ", settings.Concurrency)} |");
        md.AppendLine($"| tokens per request | {(settings.Tokens is { } fixedTokens ? fixedTokens.ToString(CultureInfo.InvariantCulture) : "per model (see summary)")} |");
        md.AppendLine(Inv($"| single-stream runs | at least {settings.Repetitions} of each way after a warm-up, more until each phase has taken {settings.SingleStreamMinimumSeconds:0} s |"));
        md.AppendLine(Inv($"| runs of each sweep level | {settings.SweepRepetitions}, the one with the median aggregate decode reported |"));
        md.AppendLine(Inv($"| prompt tokens | {settings.PromptTokens} |"));
        md.AppendLine(Inv($"| threads | {settings.EffectiveThreads} |"));
        md.AppendLine(Inv($"| context per sequence | {settings.ContextSize} (capped by each model's own) |"));
        md.AppendLine(Inv($"| interference | {settings.InterferenceStreams} streams, {settings.InterferenceLongPromptTokens}-token prompt, {settings.InterferenceBeforeTokens} tokens before |"));
        md.AppendLine($"| sampling | {Cell(settings.Sampling)} |");
        if (settings.ServerArguments.Count > 0) md.AppendLine($"| server | `sov serve --urls http://127.0.0.1:0 {string.Join(' ', settings.ServerArguments)}` |");
        if (settings.ModelCache is not null) md.AppendLine($"| synthetic model cache | `{settings.ModelCache}` |");
        md.AppendLine();
        md.AppendLine("| model | file | digest |").AppendLine("| --- | --- | --- |");
        foreach (var r in report.Models) md.AppendLine($"| {Cell(r.Name)} | {Cell(r.File is null ? null : Path.GetFileName(r.File))} | `{r.Digest ?? "—"}` |");
        md.AppendLine();

        var errors = report.Errors.Concat(report.Models.SelectMany(r => r.Errors.Select(e => $"{r.Name}: {e}"))).ToArray();
        if (errors.Length > 0)
        {
            md.AppendLine("## Problems").AppendLine();
            foreach (var e in errors) md.AppendLine($"- {Cell(e)}");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    internal static void AppendCluster(StringBuilder md, ClusterReport c)
    {
        if (c.Status != "measured") return;
        md.AppendLine("## Cluster hop").AppendLine();
        md.AppendLine(Inv($"Two `sov serve` nodes and a Redis on 127.0.0.1; `{Cell(c.Model)}` is loaded on the serving node only. The same request ({I(c.Tokens)} tokens, greedy) went {I(c.Rounds)} times to each node in turn; through the entry node it crosses to the serving node over Orleans and streams back."));
        md.AppendLine();
        md.AppendLine("| through | TTFT p50 | TTFT p95 | decode tokens/s p50 |").AppendLine("| --- | ---: | ---: | ---: |");
        md.AppendLine(Inv($"| the serving node (local) | {Ms(c.LocalTtftMs?.P50)} | {Ms(c.LocalTtftMs?.P95)} | {F(c.LocalDecodeTokensPerSecond?.P50)} |"));
        md.AppendLine(Inv($"| the entry node (remote) | {Ms(c.RemoteTtftMs?.P50)} | {Ms(c.RemoteTtftMs?.P95)} | {F(c.RemoteDecodeTokensPerSecond?.P50)} |"));
        md.AppendLine();
        md.AppendLine(Inv($"Remote ÷ local: TTFT **{F(c.TtftRatioRemoteOverLocal, "0.00")}×**, decode rate **{F(c.DecodeRatioRemoteOverLocal, "0.00")}×**."));
        md.AppendLine();
    }

    private static string Ms(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "—";

    private static string F(double? value, string format = "0.0") => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    internal static void AppendEmbeddings(StringBuilder md, EmbeddingsReport e)
    {
        if (e.Status == "not_available") return;
        md.AppendLine("## Embeddings").AppendLine();
        md.AppendLine(Inv($"`POST /v1/embeddings` with model `{Cell(e.Model)}` ({I(e.Dimensions)} dimensions), texts of about {I(e.WordsPerText)} words, one request at a time."));
        md.AppendLine();
        md.AppendLine("| batch | requests | texts/s | input tokens/s | request p50 ms | request p95 ms |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var l in e.Levels)
            md.AppendLine(Inv($"| {l.BatchSize} | {l.Requests} | {N(l.TextsPerSecond)} | {N(l.TokensPerSecond)} | {N(l.RequestMs?.P50)} | {N(l.RequestMs?.P95)} |"));
        md.AppendLine();
        md.AppendLine($"Batch 8 ÷ batch 1: {R(e.Batch8OverBatch1)}; batch 32 ÷ batch 1: {R(e.Batch32OverBatch1)}.");
        foreach (var error in e.Errors) md.AppendLine($"- error: {Cell(error)}");
        md.AppendLine();
    }

    internal static void AppendRetrieval(StringBuilder md, RetrievalReport r)
    {
        if (r.Status == "not_available") return;
        md.AppendLine("## Retrieval").AppendLine();
        md.AppendLine("Measured in the benchmark process against the knowledge code (SQLite index, built-in all-minilm), one query at a time.").AppendLine();
        if (r.Search.Count > 0)
        {
            md.AppendLine($"Search latency, ms (p50 / p95). Index: {Cell(r.LatencyIndex)}.").AppendLine();
            md.AppendLine("| chunks | indexed chunks/s | vector | full text | hybrid | query embedding |");
            md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var l in r.Search)
            {
                md.AppendLine(Inv($"| {l.Chunks:N0} | {N(l.IndexChunksPerSecond)} | {N(l.VectorMs?.P50)} / {N(l.VectorMs?.P95)} | {N(l.FullTextMs?.P50)} / {N(l.FullTextMs?.P95)} | ") +
                    $"{N(l.HybridMs?.P50)} / {N(l.HybridMs?.P95)} | {N(l.QueryEmbeddingMs?.P50)} / {N(l.QueryEmbeddingMs?.P95)} |");
            }
            md.AppendLine();
        }
        if (r.Ingestion is { } i)
        {
            md.AppendLine(Inv($"Ingestion (generated PDFs through extraction, chunking, all-minilm and indexing, one at a time): {i.Documents} documents, {i.Pages} pages, {i.Chunks} chunks in {i.Seconds:0.0} s — **{N(i.PagesPerSecond)} pages/s**, {N(i.ChunksPerSecond)} chunks/s."));
            md.AppendLine();
        }
        if (r.Recall is { } q)
        {
            md.AppendLine(Inv($"recall@5 on the labelled set ({q.Questions} questions, {q.Passages} passages, {q.EmbeddingModel}):")).AppendLine();
            md.AppendLine("| vector | full text | hybrid | hybrid + rerank |").AppendLine("| ---: | ---: | ---: | ---: |");
            md.AppendLine($"| {R(q.VectorRecallAt5)} | {R(q.FullTextRecallAt5)} | {R(q.HybridRecallAt5)} | {(q.Reranker is null ? "no --reranker" : R(q.HybridRerankRecallAt5))} |");
            md.AppendLine();
            if (q.Reranker is not null)
            {
                md.AppendLine(Inv($"Reranker `{Cell(Path.GetFileName(q.Reranker))}` ({Cell(q.RerankMethod)}) over the first {I(q.RerankCandidates)} hybrid results; reranked search p50 / p95 {N(q.HybridRerankMs?.P50)} / {N(q.HybridRerankMs?.P95)} ms."));
                md.AppendLine();
            }
        }
        foreach (var error in r.Errors) md.AppendLine($"- error: {Cell(error)}");
        if (r.Errors.Count > 0) md.AppendLine();
    }

    private static string Cell(string? text) => string.IsNullOrEmpty(text) ? "—" : text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string N(double? value) => BenchFormat.Number(value);

    /// <summary>A batching yardstick's levels as "1 → 55.9, 4 → 65.1".</summary>
    private static string Levels(IEnumerable<BatchedResult> levels) =>
        string.Join(", ", levels.Select(b => $"{b.Sequences.ToString(CultureInfo.InvariantCulture)} → {N(b.AggregateDecodeTokensPerSecond)}"));

    private static string R(double? value) => BenchFormat.Ratio(value);

    private static string I(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "—";

    private static string Count(long? n) => n switch
    {
        null => "—",
        >= 1_000_000 => (n.Value / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n.Value / 1e3).ToString("0", CultureInfo.InvariantCulture) + "K",
        _ => n.Value.ToString(CultureInfo.InvariantCulture),
    };

    private static string Bytes(long? bytes) => BenchFormat.Bytes(bytes);
}

/// <summary>How the reports write numbers (invariant culture). Stateless; thread-safe.</summary>
public static class BenchFormat
{
    /// <summary>A rate or latency: 0 decimals from 100, 1 from 10, else 2; "—" when missing.</summary>
    public static string Number(double? value) => value switch
    {
        null => "—",
        var v when !double.IsFinite(v.Value) => "—",
        >= 100 => value.Value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    /// <summary>A ratio, to three decimals; "—" when missing.</summary>
    public static string Ratio(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "—";

    /// <summary>Bytes in B, KiB, MiB or GiB; "—" when missing.</summary>
    public static string Bytes(long? bytes)
    {
        if (bytes is not { } b) return "—";
        string[] units = ["B", "KiB", "MiB", "GiB"];
        double v = b;
        var i = 0;
        while (v >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return i == 0 ? b.ToString(CultureInfo.InvariantCulture) + " B" : v.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[i];
    }
}
