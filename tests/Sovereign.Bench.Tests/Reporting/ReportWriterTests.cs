using System.Text.Json.Nodes;
using Sovereign.Bench.Machine;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;
using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.Reporting;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sov-bench-report-" + Guid.NewGuid().ToString("N")[..8]);

    private static StreamTrace Trace(double sent, double step, int tokens) =>
        new() { SentAt = sent, ChunkTimes = [.. Enumerable.Range(1, tokens).Select(i => sent + i * step)], CompletionTokens = tokens, PromptTokens = 16 };

    private static BenchReport Report()
    {
        var model = new ModelReport { Name = "synthetic-60m-q8_0", Description = "test", Tokens = 8, Parameters = 60_000_000, Quantization = "Q8_0", Digest = "sha256:abc" };
        model.Raw = SingleStreamWorkload.Summarise([Trace(0, 0.01, 8)]);
        model.Served = SingleStreamWorkload.Summarise([Trace(0, 0.011, 8)]);
        model.OverheadRatio = Statistics.Ratio(model.Served.DecodeTokensPerSecond, model.Raw.DecodeTokensPerSecond);
        foreach (var n in new[] { 1, 4, 8 })
            model.Concurrency.Add(ConcurrencySweep.Summarise(n, [.. Enumerable.Range(0, n).Select(i => Trace(0, 0.01 * (1 + n / 4.0), 8))]));
        model.BatchingRatio4 = 2.0;
        model.BatchingRatio8 = 3.0;
        model.Interference = InterferenceWorkload.Summarise([Trace(0, 0.1, 40), Trace(0, 0.12, 40)], 0.5, 2.0, Trace(2.0, 0.5, 2), []);
        model.ArrivalsUnderLoad = ArrivalsUnderLoadWorkload.Summarise(7, [Trace(0, 0.02, 2), Trace(1, 0.03, 2)], 0.01 * 1000, []);
        model.TtftP95ArrivingAt8OverUnloaded = model.ArrivalsUnderLoad.TtftP95OverUnloaded;
        model.Memory = new ModelMemory { RunnerProcessId = 42, RunnerPeakRssBytes = 100 << 20 };
        BenchRunner.AddTargets(model, Sovereign.Bench.Models.BenchModels.Find("synthetic-400m-q8_0"));
        var report = new BenchReport
        {
            StartedAt = DateTimeOffset.UnixEpoch,
            Mode = "sovereign",
            Quick = true,
            Machine = MachineInfo.Collect(),
            Settings = new BenchSettings
            {
                Concurrency = [1, 4, 8],
                Repetitions = 1,
                PromptTokens = 16,
                Threads = 0,
                EffectiveThreads = 2,
                ContextSize = 4096,
                InterferenceStreams = 2,
                InterferenceLongPromptTokens = 2000,
                InterferenceBeforeTokens = 16,
                Sampling = "greedy",
            },
        };
        report.Models.Add(model);
        return report;
    }

    [Fact]
    public void Json_holds_every_headline_figure_in_snake_case()
    {
        var files = ReportWriter.WriteAll(Report(), _dir);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "results.json")))!;
        var model = json["models"]![0]!;

        Assert.Equal("sovereign-bench/1", (string?)json["schema"]);
        Assert.Equal(0.909, (double)model["overhead_ratio"]!, 3);
        Assert.Equal(2.0, (double)model["batching_ratio_4"]!);
        Assert.Equal(3.0, (double)model["batching_ratio_8"]!);
        Assert.NotNull(model["raw"]!["decode_tokens_per_second"]);
        Assert.NotNull(model["concurrency"]![2]!["ttft_ms"]!["p95"]);
        Assert.NotNull(model["concurrency"]![2]!["itl_ms"]!["p95"]);
        Assert.NotNull(model["interference"]!["itl_during_ms"]);
        Assert.Equal(100 << 20, (long)model["memory"]!["runner_peak_rss_bytes"]!);
        Assert.Equal("not_available", (string?)json["embeddings"]!["status"]);
        Assert.Equal("not_available", (string?)json["retrieval"]!["status"]);
        Assert.True(json["machine"]!["cpu_flags"]!.AsArray().Count >= 0);
        Assert.NotNull(json["machine"]!["memory_monitors"]);
        Assert.True(json["machine"]!.AsObject().ContainsKey("virtual_machine"));
        // Samples kept for the plots stay out of the JSON; missing figures stay in as null.
        Assert.Null(model["concurrency"]![0]!["itl_samples_ms"]);
        Assert.True(model.AsObject().ContainsKey("engine_ratio"));
        Assert.Null(model["engine_ratio"]);

        Assert.Contains(files, f => f.EndsWith("results.md", StringComparison.Ordinal));
    }

    [Fact]
    public void Markdown_has_the_tables_and_says_what_was_not_measured()
    {
        ReportWriter.WriteAll(Report(), _dir);
        var md = File.ReadAllText(Path.Combine(_dir, "results.md"));
        Assert.Contains("| synthetic-60m-q8_0 | 60.0M | Q8_0 |", md, StringComparison.Ordinal);
        Assert.Contains("**2.000**", md, StringComparison.Ordinal);
        Assert.Contains("## Concurrency sweep", md, StringComparison.Ordinal);
        Assert.Contains("## Interference", md, StringComparison.Ordinal);
        Assert.Contains("## Arrivals under load", md, StringComparison.Ordinal);
        Assert.Contains("| kernel memory monitor (DAMON) |", md, StringComparison.Ordinal);
        Assert.Contains("| synthetic-60m-q8_0 | ttft_p95_arriving_at_8_over_unloaded |", md, StringComparison.Ordinal);
        Assert.Contains("**Embeddings**: not_available", md, StringComparison.Ordinal);
        Assert.Contains("**Retrieval and ingestion**: not_available", md, StringComparison.Ordinal);
        Assert.Contains("| synthetic-60m-q8_0 | batching_ratio_4 |", md, StringComparison.Ordinal);
        Assert.Contains("![throughput-synthetic-60m-q8_0.png](throughput-synthetic-60m-q8_0.png)", md, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plots_are_png_files()
    {
        var files = ReportWriter.WriteAll(Report(), _dir);
        string[] expected = ["scaling.png", "throughput-synthetic-60m-q8_0.png", "latency-synthetic-60m-q8_0.png", "interference-synthetic-60m-q8_0.png"];
        foreach (var name in expected)
        {
            var path = Path.Combine(_dir, name);
            Assert.Contains(path, files);
            var header = File.ReadAllBytes(path)[..8];
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, header);
        }
    }

    [Fact]
    public void Targets_are_checked_in_the_right_direction()
    {
        Assert.True(new TargetCheck("x", "≥", 1.7, 1.8).Met);
        Assert.False(new TargetCheck("x", "≥", 1.7, 1.6).Met);
        Assert.True(new TargetCheck("x", "≤", 2.5, 2.0, AtMost: true).Met);
        Assert.False(new TargetCheck("x", "≤", 2.5, 3.0, AtMost: true).Met);
        Assert.Null(new TargetCheck("x", "≥", 1.7, null).Met);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
