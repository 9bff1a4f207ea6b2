using System.CommandLine;
using System.Globalization;
using Sovereign.Bench;
using Sovereign.Bench.Models;
using Sovereign.Bench.Reporting;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov bench`: the serving benchmark (issue 9). By default it starts its own `sov serve` per model on a loopback port
/// with a throw-away data folder; with --target it drives any OpenAI-compatible endpoint instead.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var target = new Option<string?>("--target") { Description = "Drive this OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, another Sovereign) instead of starting one." };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key for --target." };
        var models = new Option<string[]>("--model", "--models")
        {
            Description = $"Model(s) to measure: {string.Join(", ", BenchModels.Known.Select(m => m.Name))}, or a .gguf path; with --target, the endpoint's model names. Repeat or separate with commas.",
            AllowMultipleArgumentsPerToken = true,
        };
        var quick = new Option<bool>("--quick") { Description = "A development run under 3 minutes: stories260k and synthetic-60m-q8_0, short generations." };
        var output = new Option<string?>("--out") { Description = "Folder for results.json, results.md and the plots (default bench/out/run-<time> in the repository, else ./sov-bench-<time>)." };
        var concurrency = new Option<string?>("--concurrency") { Description = "Concurrent streams of the sweep (default 1,2,4,8,16)." };
        var tokens = new Option<int?>("--tokens") { Description = "Tokens generated per request (default per model: stories260k 512, others 128; less with --quick)." };
        var repetitions = new Option<int?>("--repetitions") { Description = "Single-stream runs after the warm-up, and runs of each sweep level, whose median is reported (default 3; 2 and 1 with --quick)." };
        var promptTokens = new Option<int?>("--prompt-tokens") { Description = "Prompt length of single-stream and sweep requests (default 128)." };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for the baselines and the server's engine (default: every core)." };
        var contextSize = new Option<int?>("--context-size") { Description = "Context tokens per sequence for the server and the baselines (default 4096)." };
        var stallTarget = new Option<int?>("--prefill-stall-target")
        {
            Description = "The server's PrefillStallTarget in ms: about how long a step that prefills may take while streams generate; 0 prefills whole chunks (default 0, as the server).",
        };
        var longPrompt = new Option<int?>("--long-prompt-tokens") { Description = "The interference workload's long prompt (default 2000, capped by the model's context)." };
        var embeddingModel = new Option<string?>("--embedding-model") { Description = "Model of the embeddings workload, texts/s at batch 1, 8, 32 (default the built-in all-minilm; none skips it)." };
        var cluster = new Option<bool?>("--cluster")
        {
            Description = "Measure time to first token through a second node (two nodes and a Redis on 127.0.0.1): --cluster true runs it even with --quick, --cluster false skips it (default: full runs, when redis-server is installed).",
        };
        var retrieval = new Option<bool?>("--retrieval")
        {
            Description = "Measure retrieval in this process: search p50/p95 by index size, ingestion pages/s, recall@5 on the labelled set (default true; --retrieval false skips it).",
        };
        var retrievalChunks = new Option<string?>("--retrieval-chunks") { Description = "Index sizes of the search latency figures (default 10000,100000; 2000 with --quick)." };
        var reranker = new Option<string?>("--reranker") { Description = "A reranker GGUF (path or known model) for the hybrid+rerank recall@5 figure (default none)." };
        var modelCache = new Option<string?>("--model-cache") { Description = "Where synthetic models are written once and reused (default bench/out/models)." };
        var command = new Command("bench", "Measure serving speed against the raw engine (or any OpenAI-compatible endpoint) and write JSON, Markdown and plots.")
        {
            target, apiKey, models, quick, output, concurrency, tokens, repetitions, promptTokens, threads, contextSize, longPrompt, modelCache, embeddingModel, cluster,
            retrieval, retrievalChunks, reranker, stallTarget,
        };
        command.SetAction(async (parse, ct) =>
        {
            var defaults = new BenchOptions { OutputDirectory = "." };
            var options = new BenchOptions
            {
                Target = parse.GetValue(target) is { } t ? ParseTarget(t) : null,
                ApiKey = parse.GetValue(apiKey),
                Models = [.. (parse.GetValue(models) ?? []).SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
                Quick = parse.GetValue(quick),
                OutputDirectory = parse.GetValue(output) ?? DefaultOutput(),
                Concurrency = parse.GetValue(concurrency) is { } c ? ParseLevels(c) : null,
                Tokens = parse.GetValue(tokens),
                Repetitions = parse.GetValue(repetitions),
                PromptTokens = parse.GetValue(promptTokens) ?? defaults.PromptTokens,
                Threads = parse.GetValue(threads) ?? defaults.Threads,
                ContextSize = parse.GetValue(contextSize) ?? defaults.ContextSize,
                LongPromptTokens = parse.GetValue(longPrompt) ?? defaults.LongPromptTokens,
                PrefillStallTargetMs = parse.GetValue(stallTarget) ?? defaults.PrefillStallTargetMs,
                ModelCache = parse.GetValue(modelCache),
                EmbeddingModel = parse.GetValue(embeddingModel) ?? defaults.EmbeddingModel,
                Cluster = parse.GetValue(cluster),
                Retrieval = parse.GetValue(retrieval),
                RetrievalChunks = parse.GetValue(retrievalChunks) is { } sizes ? ParseLevels(sizes, "--retrieval-chunks", "10000,100000") : null,
                Reranker = parse.GetValue(reranker),
            };
            var problems = options.Validate();
            if (problems.Count > 0) throw new CliException(string.Join(Environment.NewLine + "sov: ", problems), 2);

            var notes = new List<string>();
            BenchRun run = null!;
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                await AnsiConsole.Progress()
                    .AutoClear(true)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("sov bench", maxValue: 1);
                        run = await BenchRunner.RunAsync(options, new LiveProgress(task, notes), ct);
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                run = await BenchRunner.RunAsync(options, new LineProgress(notes), ct);
            }

            foreach (var note in notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
            AnsiConsole.Write(Summary(run.Report));
            Console.WriteLine($"Results in {Path.GetFullPath(options.OutputDirectory)}: {string.Join(", ", run.Files.Select(Path.GetFileName))}");
            // Speed never fails the command; a run that measured nothing at all does.
            return run.Report.Models.Any(m => m.Served is not null || m.Concurrency.Count > 0) ? 0 : 1;
        });
        return command;
    }

    private static Table Summary(BenchReport report)
    {
        var table = new Table().AddColumns("MODEL", "RAW tok/s", "SERVED tok/s", "OVERHEAD", "ENGINE", "TTFT ms", "DEC@1", "DEC@4", "DEC@8", "BATCH×4", "BATCH×8", "ITL p95 during/before");
        foreach (var m in report.Models)
        {
            double? Agg(int n) => m.Concurrency.FirstOrDefault(c => c.Streams == n)?.AggregateDecodeTokensPerSecond;
            table.AddRow(Markup.Escape(m.Name), BenchFormat.Number(m.Raw?.DecodeTokensPerSecond), BenchFormat.Number(m.Served?.DecodeTokensPerSecond),
                BenchFormat.Ratio(m.OverheadRatio), BenchFormat.Ratio(m.EngineRatio), BenchFormat.Number(m.Served?.TtftMs),
                BenchFormat.Number(Agg(1)), BenchFormat.Number(Agg(4)), BenchFormat.Number(Agg(8)),
                BenchFormat.Ratio(m.BatchingRatio4), BenchFormat.Ratio(m.BatchingRatio8), BenchFormat.Ratio(m.Interference?.ItlP95Ratio));
        }
        return table;
    }

    private static Uri ParseTarget(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : throw new CliException($"--target: '{text}' is not an absolute URL such as http://127.0.0.1:8081.", 2);

    private static int[] ParseLevels(string text, string option = "--concurrency", string example = "1,2,4,8,16")
    {
        var levels = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new CliException($"{option}: '{part}' is not a whole number; use e.g. {example}.", 2);
            levels.Add(n);
        }
        return [.. levels];
    }

    private static string DefaultOutput()
    {
        var stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var root = BenchModels.FindRepositoryRoot(AppContext.BaseDirectory);
        return root is null ? Path.GetFullPath($"sov-bench-{stamp}") : Path.Combine(root, "bench", "out", $"run-{stamp}");
    }

    /// <summary>Progress as a Spectre bar (interactive terminals).</summary>
    private sealed class LiveProgress(ProgressTask task, List<string> notes) : IBenchProgress
    {
        public void Begin(int steps) => task.MaxValue = steps;

        public void Step(string? model, string what)
        {
            if (task.Value > 0 || task.Description != "sov bench") task.Increment(1);
            task.Description = Markup.Escape(model is null ? what : $"{model}: {what}");
        }

        public void Note(string message) => notes.Add(message);
    }

    /// <summary>Progress as one line per step (redirected output, CI).</summary>
    private sealed class LineProgress(List<string> notes) : IBenchProgress
    {
        private int _steps;
        private int _step;

        public void Begin(int steps) => _steps = steps;

        public void Step(string? model, string what) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{++_step}/{_steps}] {(model is null ? what : $"{model}: {what}")}"));

        public void Note(string message) => notes.Add(message);
    }
}
