using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sovereign.Bench.Tests.EndToEnd;

/// <summary>
/// Issue 9: `sov bench` run for real — the built `sov` as a child process, which starts its own `sov serve` and runner
/// on loopback — on stories260K with a reduced workload, and results.json holds every figure. Speed is never asserted.
/// </summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "sov-bench-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Quick_bench_on_stories260k_writes_every_figure_and_the_plots()
    {
        var result = await RunSovAsync(TimeSpan.FromMinutes(5),
            "bench", "--quick", "--model", "stories260k", "--tokens", "32", "--repetitions", "1", "--concurrency", "1,4,8", "--out", _out,
            "--model-cache", Path.Combine(_out, "models"), "--embedding-model", "none", "--cluster", "true", "--retrieval-chunks", "500");
        Assert.True(result.ExitCode == 0, result.Output);
        // Progress (one line per step when output is redirected) counts every step it announced: none past the total.
        var steps = System.Text.RegularExpressions.Regex.Matches(result.Output, @"^\[(\d+)/(\d+)\] ", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.NotEmpty(steps);
        Assert.All(steps, m => Assert.Equal(steps[^1].Groups[2].Value, m.Groups[2].Value));
        Assert.Equal(steps[^1].Groups[2].Value, steps[^1].Groups[1].Value);
        Assert.Contains($"[{steps[^1].Groups[1].Value}/{steps[^1].Groups[2].Value}] writing results", result.Output, StringComparison.Ordinal);

        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "results.json")))!;
        Assert.Equal("sovereign", (string?)json["mode"]);
        Assert.StartsWith("http://127.0.0.1:", (string?)json["target"], StringComparison.Ordinal);
        Assert.StartsWith("llama.cpp via LLamaSharp", (string?)json["backend"], StringComparison.Ordinal);
        Assert.True((int)json["machine"]!["cores"]! > 0);
        Assert.True((long)json["machine"]!["memory_bytes"]! > 0);
        Assert.NotEmpty(json["machine"]!["cpu_flags"]!.AsArray());
        // Skipped here to keep this run within its time; EmbeddingsWorkloadEndToEndTests measures it on a real server.
        Assert.Equal("not_available", (string?)json["embeddings"]!["status"]);
        // Retrieval, in the bench process: one small index size here (RetrievalWorkloadTests covers two and the reranker).
        var retrieval = json["retrieval"]!;
        Assert.True((string?)retrieval["status"] == "measured", retrieval.ToJsonString());
        Assert.Empty(retrieval["errors"]!.AsArray());
        var search = retrieval["search"]!.AsArray().Single()!;
        Assert.Equal(500, (int)search["chunks"]!);
        foreach (var mode in new[] { "vector_ms", "full_text_ms", "hybrid_ms", "query_embedding_ms" })
        {
            AssertPositive(search[mode]!["p50"], $"{mode}.p50");
            AssertPositive(search[mode]!["p95"], $"{mode}.p95");
        }
        Assert.Equal(6, (int)retrieval["ingestion"]!["pages"]!);
        AssertPositive(retrieval["ingestion"]!["pages_per_second"], "pages_per_second");
        foreach (var figure in new[] { "vector_recall_at_5", "fulltext_recall_at_5", "hybrid_recall_at_5" })
            AssertPositive(retrieval["recall"]![figure], figure);
        Assert.Null(retrieval["recall"]!["hybrid_rerank_recall_at_5"]);
        Assert.Equal([500], json["settings"]!["retrieval_chunks"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(4096, (int)json["settings"]!["context_size"]!);
        // The cluster hop: two real nodes and a Redis; the entry node's figures against the serving node's.
        var cluster = json["cluster"]!;
        Assert.True((string?)cluster["status"] == "measured", cluster.ToJsonString());
        foreach (var figure in new[] { "ttft_ratio_remote_over_local", "decode_ratio_remote_over_local" })
            AssertPositive(cluster[figure], figure);
        foreach (var side in new[] { "local_ttft_ms", "remote_ttft_ms", "local_decode_tokens_per_second", "remote_decode_tokens_per_second" })
            AssertPositive(cluster[side]!["p50"], side);
        Assert.Equal(5, (int)cluster["local_ttft_ms"]!["count"]!);

        var model = json["models"]!.AsArray().Single()!;
        Assert.Equal("stories260k", (string?)model["name"]);
        // No problems at all. (The runner once went missing by the memory step in about half of the runs: clients
        // stopping their streams made the server abandon it. EngineLimitsTests covers that now.)
        var errors = model["errors"]!.AsArray().Select(e => (string)e!).ToArray();
        Assert.True(errors.Length == 0, string.Join(Environment.NewLine, errors));
        Assert.Equal("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d", (string?)model["digest"]);
        foreach (var figure in new[] { "overhead_ratio", "overhead_ratio_best", "engine_ratio", "batching_ratio_4", "batching_ratio_8", "batching_ratio_4_end_to_end", "batching_ratio_8_end_to_end", "ttft_ratio", "ttft_p95_at_8_over_unloaded", "ttft_p95_arriving_at_8_over_unloaded", "raw_batching_ratio_4", "raw_batching_ratio_8", "batched_overhead_ratio_4", "engine_batched_ratio_4", "served_over_engine_batched_4" })
            AssertPositive(model[figure], figure);
        foreach (var way in new[] { "raw", "served", "engine", "served_with_engine" })
        {
            AssertPositive(model[way]!["decode_tokens_per_second"], $"{way}.decode_tokens_per_second");
            AssertPositive(model[way]!["prompt_tokens_per_second"], $"{way}.prompt_tokens_per_second");
            AssertPositive(model[way]!["ttft_ms"], $"{way}.ttft_ms");
            Assert.Equal(32, (int)model[way]!["completion_tokens"]!);
        }
        var rawBatched = model["raw_batched"]!.AsArray();
        Assert.Equal([1, 4, 8], rawBatched.Select(l => (int)l!["sequences"]!));
        Assert.All(rawBatched, l => AssertPositive(l!["aggregate_decode_tokens_per_second"], "raw_batched aggregate"));
        var engineBatched = model["engine_batched"]!.AsArray();
        Assert.Equal([1, 4, 8], engineBatched.Select(l => (int)l!["sequences"]!));
        Assert.All(engineBatched, l => AssertPositive(l!["aggregate_decode_tokens_per_second"], "engine_batched aggregate"));
        var levels = model["concurrency"]!.AsArray();
        Assert.Equal([1, 4, 8], levels.Select(l => (int)l!["streams"]!));
        foreach (var level in levels)
        {
            Assert.Equal((int)level!["streams"]!, (int)level["completed"]!);
            AssertPositive(level["aggregate_tokens_per_second"], "aggregate_tokens_per_second");
            AssertPositive(level["aggregate_decode_tokens_per_second"], "aggregate_decode_tokens_per_second");
            AssertPositive(level["per_stream_tokens_per_second"]!["p50"], "per_stream p50");
            AssertPositive(level["ttft_ms"]!["p50"], "ttft p50");
            AssertPositive(level["ttft_ms"]!["p95"], "ttft p95");
            Assert.NotNull(level["itl_ms"]!["p50"]);
            Assert.NotNull(level["itl_ms"]!["p95"]);
        }
        var interference = model["interference"]!;
        Assert.Equal(7, (int)interference["background_streams"]!);
        Assert.True((int)interference["long_prompt_tokens"]! > 1500, "a long prompt of about 2,000 tokens");
        AssertPositive(interference["long_prompt_ttft_ms"], "long_prompt_ttft_ms");
        Assert.NotNull(interference["itl_before_ms"]!["p95"]);
        Assert.NotNull(interference["itl_during_ms"]!["p95"]);
        var arrivals = model["arrivals_under_load"]!;
        Assert.Equal(7, (int)arrivals["background_streams"]!);
        Assert.Equal(6, (int)arrivals["arrivals"]!);
        Assert.Equal(6, (int)arrivals["ttft_ms"]!["count"]!);
        AssertPositive(arrivals["unloaded_ttft_ms"], "arrivals_under_load.unloaded_ttft_ms");
        AssertPositive(model["memory"]!["runner_peak_rss_bytes"], "runner_peak_rss_bytes");
        // Where the CPU went per served token while it decoded (the tokens after each run's first): decoding always
        // costs some; the other figures may round to 0 ticks.
        var cpu = model["served_cpu"]!;
        Assert.True((int)cpu["tokens"]! >= 31 * (int)cpu["runs"]!, cpu.ToJsonString());
        AssertPositive(cpu["runner_decode_ms_per_token"], "served_cpu.runner_decode_ms_per_token");
        foreach (var part in new[] { "server_ms_per_token", "runner_other_ms_per_token", "bench_client_ms_per_token" })
            Assert.True((double)cpu[part]! >= 0, part);
        AssertPositive(model["memory"]!["server_peak_rss_bytes"], "server_peak_rss_bytes");

        var md = await File.ReadAllTextAsync(Path.Combine(_out, "results.md"));
        Assert.Contains("| stories260k |", md, StringComparison.Ordinal);
        Assert.Contains("## Cluster hop", md, StringComparison.Ordinal);
        Assert.Contains("## Retrieval", md, StringComparison.Ordinal);
        Assert.Contains("pages/s", md, StringComparison.Ordinal);
        Assert.Contains("not_available", md, StringComparison.Ordinal);
        foreach (var png in new[] { "scaling.png", "throughput-stories260k.png", "latency-stories260k.png", "interference-stories260k.png" })
            Assert.True(new FileInfo(Path.Combine(_out, png)) is { Exists: true, Length: > 1000 }, png);
        // The console ends with the summary table.
        Assert.Contains("stories260k", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("results.json", result.Stdout, StringComparison.Ordinal);
        // Nothing is left running: the server and its runner were stopped.
        Assert.False(IsRunning((int)model["memory"]!["server_process_id"]!), "the server is still running");
        if (model["memory"]!["runner_process_id"] is { } runner) Assert.False(IsRunning((int)runner), "the runner is still running");
    }

    [Fact]
    public async Task Bad_options_are_all_reported_with_exit_code_2()
    {
        var result = await RunSovAsync(TimeSpan.FromMinutes(1), "bench", "--model", "no-such-model", "--tokens", "1", "--concurrency", "1,x", "--out", _out);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--concurrency", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_out));

        result = await RunSovAsync(TimeSpan.FromMinutes(1), "bench", "--model", "no-such-model", "--tokens", "1", "--out", _out);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no-such-model", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--tokens", result.Stderr, StringComparison.Ordinal);
    }

    private static void AssertPositive(JsonNode? node, string name)
    {
        Assert.True(node is not null, $"{name} is missing");
        Assert.True((double)node! > 0, $"{name} = {node}");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && process.ProcessName.StartsWith("sov", StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    /// <summary>Runs the `sov` built beside the tests (apphost, else `dotnet sov.dll`); killed with its children after <paramref name="timeout"/>.</summary>
    private static async Task<Result> RunSovAsync(TimeSpan timeout, params string[] args)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "sov");
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "sov.dll") } };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.Environment["COLUMNS"] = "240";
        psi.Environment["NO_COLOR"] = "1";
        foreach (var key in new[] { "SOV_HOME", "SOV_URL", "SOV_API_KEY", "SOV_ADMIN_KEY", "ASPNETCORE_URLS" }) psi.Environment.Remove(key);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sov {string.Join(' ', args)} did not finish in {timeout}:\n{await stdout}\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public void Dispose()
    {
        if (Directory.Exists(_out)) Directory.Delete(_out, recursive: true);
    }
}
