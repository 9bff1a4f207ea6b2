using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sovereign.Bench.Driver;
using Sovereign.Bench.Hosting;
using Sovereign.Bench.Machine;
using Sovereign.Bench.Models;
using Sovereign.Bench.Raw;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;
using Sovereign.Bench.Workloads;
using Sovereign.Core.Options;
using Sovereign.Inference.Engine;
using Sovereign.Models.Store;

namespace Sovereign.Bench;

/// <summary>What a run produced: the results and the files written.</summary>
public sealed record BenchRun(BenchReport Report, IReadOnlyList<string> Files);

/// <summary>
/// Runs the serving benchmark (issue 9) and writes its results. Stateless; one call is one run, and runs must not
/// overlap on one machine (they would measure each other).
/// </summary>
public static class BenchRunner
{
    /// <summary>Engine slots and prefill chunk given to the server and to the in-process engine (Sovereign's defaults).</summary>
    private const int Slots = 8;
    private const int PrefillChunk = 256;
    private const int InterferenceStreams = 7;

    /// <summary>
    /// Measures every model, then writes results.json, results.md and the plots to <see cref="BenchOptions.OutputDirectory"/>.
    /// <list type="number">
    /// <item>Check the options (every problem at once).</item>
    /// <item>Record the machine and the settings.</item>
    /// <item>Per model: prepare its file, start a fresh server (Sovereign mode) or use the target, then single stream
    /// (raw, engine, served), the concurrency sweep, interference and memory. A workload that fails is recorded and the
    /// run goes on.</item>
    /// <item>Check the issue's targets and write the files.</item>
    /// </list>
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public static async Task<BenchRun> RunAsync(BenchOptions options, IBenchProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        progress ??= NullBenchProgress.Instance;

        // :: Step 1: options.
        var problems = options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, problems));

        // :: Step 2: machine and settings.
        var started = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        var repositoryRoot = BenchModels.FindRepositoryRoot(AppContext.BaseDirectory) ?? BenchModels.FindRepositoryRoot(Environment.CurrentDirectory);
        var cache = options.ModelCache ?? BenchModels.DefaultCacheDirectory(repositoryRoot);
        var local = options.Target is null;
        var serverArguments = local ? ServerArguments(options) : [];
        var report = new BenchReport
        {
            StartedAt = started,
            Mode = local ? "sovereign" : "target",
            Target = options.Target?.ToString(),
            Quick = options.Quick,
            Machine = MachineInfo.Collect(),
            Settings = new BenchSettings
            {
                Concurrency = options.EffectiveConcurrency,
                Tokens = options.Tokens,
                Repetitions = options.EffectiveRepetitions,
                SweepRepetitions = options.SweepRepetitions,
                SingleStreamMinimumSeconds = options.SingleStreamMinimum.TotalSeconds,
                PromptTokens = options.PromptTokens,
                Threads = options.Threads,
                EffectiveThreads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount,
                ContextSize = options.ContextSize,
                InterferenceStreams = InterferenceStreams,
                InterferenceLongPromptTokens = options.LongPromptTokens,
                InterferenceBeforeTokens = options.InterferenceBeforeTokens,
                ServerArguments = serverArguments,
                Slots = local ? Slots : null,
                PrefillChunk = local ? PrefillChunk : null,
                ModelCache = local ? cache : null,
                Sampling = "greedy (temperature 0), ignore_eos, streamed /v1/completions with stream_options.include_usage",
                RetrievalChunks = local && options.Retrieval != false ? options.EffectiveRetrievalChunks : null,
                Reranker = options.Reranker,
            },
        };

        // :: Step 3: the models.
        var names = options.Models.Count > 0 ? options.Models : BenchModels.Defaults(options.Quick).Select(m => m.Name).ToArray();
        // Per model: the model file, the server (local only), single stream, each sweep level, interference, arrivals,
        // memory (local only); then embeddings, the cluster hop when it runs, retrieval's steps, writing the results.
        var runsCluster = local && (options.Cluster ?? !options.Quick);
        var stepsPerModel = (local ? 6 : 4) + report.Settings.Concurrency.Count;
        var retrievalSteps = local && options.Retrieval != false ? options.EffectiveRetrievalChunks.Count + 2 : 0;
        progress.Begin(names.Count * stepsPerModel + 2 + (runsCluster ? 1 : 0) + retrievalSteps);
        var clock = new BenchClock();
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ModelReport model;
            if (local)
            {
                var spec = BenchModels.Find(name)!;
                model = await MeasureLocalAsync(spec, options, cache, repositoryRoot, serverArguments, report, clock, progress, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                model = await MeasureTargetAsync(name, options, report, clock, progress, cancellationToken).ConfigureAwait(false);
            }
            AddTargets(model, local ? BenchModels.Find(name) : null);
            foreach (var e in model.Errors) progress.Note($"{model.Name}: {e}");
            report.Models.Add(model);
        }

        // :: Step 3½: embeddings, on a server of their own (sovereign mode) or the target.
        progress.Step(null, $"embeddings: texts/s at batch {string.Join(", ", EmbeddingsWorkload.BatchSizes)} ({options.EmbeddingModel})");
        report.Embeddings = await MeasureEmbeddingsAsync(options, serverArguments, cancellationToken).ConfigureAwait(false);
        foreach (var e in report.Embeddings.Errors) progress.Note($"embeddings: {e}");

        // :: Step 3¾: the cluster hop, on two nodes of its own.
        if (runsCluster)
        {
            progress.Step(null, "cluster: time to first token through a second node against the node that runs the model");
            report.Cluster = await MeasureClusterAsync(options, cache, repositoryRoot, serverArguments, clock, cancellationToken).ConfigureAwait(false);
            foreach (var e in report.Cluster.Errors) progress.Note($"cluster: {e}");
        }
        else
        {
            report.Cluster = ClusterReport.NotAvailable(local ? "skipped (--quick without --cluster, or --no-cluster)." : "not measured against --target (it needs two Sovereign nodes the benchmark starts).");
        }

        // :: Step 3⅞: retrieval, in this process against the knowledge code.
        if (local && options.Retrieval != false)
        {
            report.Retrieval = await MeasureRetrievalAsync(options, cache, repositoryRoot, progress, cancellationToken).ConfigureAwait(false);
            foreach (var e in report.Retrieval.Errors) progress.Note($"retrieval: {e}");
        }
        else
        {
            report.Retrieval = RetrievalReport.NotAvailable(local ? "skipped (--retrieval false)." : "not measured against --target (it measures Sovereign's own knowledge index, in this process).");
        }

        // :: Step 4: targets are in; write the files.
        progress.Step(null, "writing results");
        report.FinishedAt = DateTimeOffset.UtcNow;
        report.Machine.LoadAverageAtEnd = MachineInfo.LoadAverage();
        if (report.Machine.LoadAverageAtStart > report.Machine.Cores || report.Machine.LoadAverageAtEnd > report.Machine.Cores)
            progress.Note(string.Create(CultureInfo.InvariantCulture, $"other work shared the CPUs (load average {report.Machine.LoadAverageAtStart:0.0} at the start, {report.Machine.LoadAverageAtEnd:0.0} at the end, {report.Machine.Cores} cores): absolute figures are low and noisy; ratios less so"));
        if (KernelMemoryMonitor.Describe(report.Machine.MemoryMonitors) is { } monitors)
            progress.Note($"the kernel's memory access monitor (DAMON) ran: {monitors}");
        report.DurationSeconds = stopwatch.Elapsed.TotalSeconds;
        var files = ReportWriter.WriteAll(report, options.OutputDirectory, error => progress.Note(error));
        return new BenchRun(report, files);
    }

    private static async Task<EmbeddingsReport> MeasureEmbeddingsAsync(BenchOptions options, IReadOnlyList<string> serverArguments, CancellationToken cancellationToken)
    {
        if (string.Equals(options.EmbeddingModel, "none", StringComparison.OrdinalIgnoreCase))
            return EmbeddingsReport.NotAvailable("skipped (--embedding-model none).");
        var minimum = TimeSpan.FromSeconds(options.Quick ? 1 : 4);
        var requests = options.Quick ? 2 : 3;
        if (options.Target is { } target)
            return await EmbeddingsWorkload.RunAsync(target, options.ApiKey, options.EmbeddingModel, minimum, requests, cancellationToken).ConfigureAwait(false);
        try
        {
            var server = await SovereignServerProcess.StartAsync(serverArguments, cancellationToken).ConfigureAwait(false);
            await using (server.ConfigureAwait(false))
                return await EmbeddingsWorkload.RunAsync(server.Url, server.AdminKey, options.EmbeddingModel, minimum, requests, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return EmbeddingsReport.NotAvailable($"server: {e.Message}") with { Status = "failed" };
        }
    }

    private static async Task<RetrievalReport> MeasureRetrievalAsync(BenchOptions options, string cache, string? repositoryRoot, IBenchProgress progress,
        CancellationToken cancellationToken)
    {
        try
        {
            string? reranker = null;
            if (options.Reranker is { } name)
                reranker = (await Task.Run(() => BenchModels.Prepare(BenchModels.Find(name)!, cache, repositoryRoot), cancellationToken).ConfigureAwait(false)).Path;
            var settings = new RetrievalSettings(options.EffectiveRetrievalChunks, options.Quick ? 20 : 100, options.Quick ? 5 : 20,
                options.Quick ? 2 : 5, options.Quick ? 3 : 10, reranker, options.Threads);
            return await Task.Run(() => RetrievalWorkload.RunAsync(settings, what => progress.Step(null, what), cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return RetrievalReport.NotAvailable(e.Message) with { Status = "failed" };
        }
    }

    private static async Task<ClusterReport> MeasureClusterAsync(BenchOptions options, string cache, string? repositoryRoot, IReadOnlyList<string> serverArguments,
        BenchClock clock, CancellationToken cancellationToken)
    {
        // The overhead-dominated model: what the hop adds shows most where the model itself costs least.
        var spec = BenchModels.Find("stories260k")!;
        try
        {
            var prepared = await Task.Run(() => BenchModels.Prepare(spec, cache, repositoryRoot), cancellationToken).ConfigureAwait(false);
            var prompt = WorkloadGenerator.Text(WorkloadGenerator.SeedFor("cluster", 32), 32);
            return await ClusterWorkload.RunAsync(prepared.Path, spec.Name, serverArguments, options.Quick ? 5 : 20, 16, prompt, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return ClusterReport.NotAvailable(e.Message) with { Status = "failed" };
        }
    }

    internal static IReadOnlyList<string> ServerArguments(BenchOptions options)
    {
        var args = new List<string>
        {
            $"--Sovereign:Engine:ContextSize={options.ContextSize.ToString(CultureInfo.InvariantCulture)}",
            $"--Sovereign:Engine:Slots={Slots.ToString(CultureInfo.InvariantCulture)}",
            $"--Sovereign:Engine:PrefillChunk={PrefillChunk.ToString(CultureInfo.InvariantCulture)}",
            $"--Sovereign:Engine:PrefillStallTarget={TimeSpan.FromMilliseconds(options.PrefillStallTargetMs).ToString("c", CultureInfo.InvariantCulture)}",
        };
        if (options.Threads > 0) args.Add($"--Sovereign:Engine:Threads={options.Threads.ToString(CultureInfo.InvariantCulture)}");
        return args;
    }

    private static async Task<ModelReport> MeasureLocalAsync(BenchModelSpec spec, BenchOptions options, string cache, string? repositoryRoot,
        IReadOnlyList<string> serverArguments, BenchReport run, BenchClock clock, IBenchProgress progress, CancellationToken cancellationToken)
    {
        var tokens = options.TokensFor(spec);
        // :: Step 3a: the model file (written once for synthetic models).
        progress.Step(spec.Name, spec.Synthetic is null ? "checking the model file" : "preparing the synthetic model (written once, then reused)");
        PreparedModel prepared;
        try
        {
            prepared = await Task.Run(() => BenchModels.Prepare(spec, cache, repositoryRoot), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var failed = new ModelReport { Name = spec.Name, Description = spec.Description, Tokens = tokens };
            failed.Errors.Add($"model file: {e.Message}");
            return failed;
        }
        var model = new ModelReport
        {
            Name = spec.Name,
            Description = spec.Description,
            File = prepared.Path,
            SizeBytes = prepared.SizeBytes,
            Parameters = prepared.Parameters,
            Quantization = prepared.Quantization,
            ContextLength = prepared.ContextLength,
            Tokens = tokens,
        };
        var context = Math.Min(options.ContextSize, prepared.ContextLength is > 0 and var c ? c : options.ContextSize);

        // :: Step 3b: a fresh server for this model, so memory figures and idle runners of other models stay out.
        progress.Step(spec.Name, "starting sov serve and importing the model");
        SovereignServerProcess server;
        try
        {
            server = await SovereignServerProcess.StartAsync(serverArguments, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            model.Errors.Add($"server: {e.Message}");
            return model;
        }
        await using (server.ConfigureAwait(false))
        {
            run.Target ??= server.Url.ToString();
            try
            {
                var store = new FileModelStore(new SovereignPaths(server.Home));
                var manifest = await store.ImportAsync(prepared.Path, ModelName.Parse(spec.Name), cancellationToken: cancellationToken).ConfigureAwait(false);
                model.Digest = manifest.Digest;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                model.Errors.Add($"import: {e.Message}");
                return model;
            }
            using var client = new OpenAiStreamClient(server.Url, server.AdminKey, clock);
            var prompts = new PromptSet(options.PromptTokens, options.LongPromptTokens, InterferenceStreams);
            await WarmUpAsync(client, model, cancellationToken).ConfigureAwait(false);
            var cpu = new ServedCpuMeter(server.ProcessId, await RunnerProcessIdAsync(client, model.Digest, cancellationToken).ConfigureAwait(false));

            // :: Step 3c: single stream, raw vs engine vs served; the raw model also calibrates the prompts.
            progress.Step(spec.Name, $"single stream: raw and served, then engine and served (≥ {options.EffectiveRepetitions} runs each)");
            try
            {
                await MeasureSingleStreamLocalAsync(model, prepared, options, context, tokens, prompts, client, clock, cpu, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                model.Errors.Add($"single stream: {e.Message}");
            }
            if (!prompts.IsCalibrated)
            {
                prompts.Calibrate(text => EstimateTokens(text, 1.4, 1), context, tokens);
                model.Errors.Add("prompt lengths are estimates: the raw baseline could not tokenize them");
            }
            run.IgnoreEosAccepted &= client.IgnoreEosAccepted;

            // :: Step 3d..f: the sweep, interference, memory.
            await MeasureServedAsync(model, options, tokens, prompts, client, clock, progress, cancellationToken).ConfigureAwait(false);

            progress.Step(spec.Name, "memory");
            var health = await client.TryGetJsonAsync("health", cancellationToken).ConfigureAwait(false);
            ReadHealth(run, health);
            var pid = RunnerProcessId(health, model.Digest);
            model.Memory = new ModelMemory
            {
                RunnerProcessId = pid,
                RunnerPeakRssBytes = pid is { } p ? ProcessMemory.PeakRss(p) : null,
                ServerProcessId = server.ProcessId,
                ServerPeakRssBytes = ProcessMemory.PeakRss(server.ProcessId),
                BenchProcessPeakRssBytes = ProcessMemory.PeakRss(Environment.ProcessId),
            };
            if (model.Memory.RunnerPeakRssBytes is null)
                model.Errors.Add($"memory: no runner with digest {model.Digest} in GET /health (loaded: {health?["loaded"]?.ToJsonString() ?? "no answer"}); " +
                    $"the server's last warnings: {(server.RecentWarnings is { Length: > 0 } w ? string.Join(" | ", w.Split('\n')) : "none")}");
        }
        return model;
    }

    /// <summary>The process id of the runner that holds the model with <paramref name="digest"/>, from GET /health.</summary>
    private static int? RunnerProcessId(System.Text.Json.Nodes.JsonNode? health, string? digest) =>
        health?["loaded"]?.AsArray().FirstOrDefault(l => (string?)l?["digest"] == digest)?["process_id"]?.GetValue<int>();

    private static async Task<int?> RunnerProcessIdAsync(OpenAiStreamClient client, string? digest, CancellationToken cancellationToken) =>
        RunnerProcessId(await client.TryGetJsonAsync("health", cancellationToken).ConfigureAwait(false), digest);

    /// <summary>
    /// Raw vs engine vs served, in two phases: raw and served interleaved, then engine and served interleaved. Only
    /// one llama.cpp context lives in this process at a time: llama.cpp's OpenMP build keeps a team of threads per
    /// decoding thread, and with two teams in one process (more OpenMP threads than cores) libgomp stops spinning at
    /// its barriers and sleeps instead, which made both baselines about 4 times slower on 2 cores.
    /// </summary>
    private static async Task MeasureSingleStreamLocalAsync(ModelReport model, PreparedModel prepared, BenchOptions options, int context, int tokens,
        PromptSet prompts, OpenAiStreamClient client, BenchClock clock, ServedCpuMeter cpu, CancellationToken cancellationToken)
    {
        Task<StreamTrace> Serve(CancellationToken ct) => client.CompleteAsync(new CompletionCall(model.Name, prompts.Single, tokens), ct);
        Task<StreamTrace> ServeMeasured(CancellationToken ct) =>
            cpu.MeasureAsync(onText => client.CompleteAsync(new CompletionCall(model.Name, prompts.Single, tokens) { OnText = onText }, ct));

        // :: Phase 1: raw and served. The raw model also sizes the prompts in the model's own tokens.
        using (var raw = await Task.Run(() => RawLlamaBaseline.Load(prepared.Path, options.Threads, context), cancellationToken).ConfigureAwait(false))
        {
            prompts.Calibrate(raw.CountTokens, raw.ContextSize, tokens);
            var results = await SingleStreamWorkload.RunAsync(
                [new SingleStreamRunner("raw", ct => raw.GenerateAsync(prompts.Single, tokens, clock, ct)), new SingleStreamRunner("served", ServeMeasured)],
                options.EffectiveRepetitions, options.SingleStreamMinimum, model.Errors, cancellationToken).ConfigureAwait(false);
            model.Raw = results.GetValueOrDefault("raw");
            model.Served = results.GetValueOrDefault("served");
        }
        model.ServedCpu = cpu.Result();
        model.OverheadRatio = Statistics.Ratio(model.Served?.DecodeTokensPerSecond, model.Raw?.DecodeTokensPerSecond);
        model.OverheadRatioBest = Statistics.Ratio(model.Served?.DecodeTokensPerSecondBest, model.Raw?.DecodeTokensPerSecondBest);
        model.TtftRatio = Statistics.Ratio(model.Served?.TtftMs, model.Raw?.TtftMs);

        // :: Phase 2: the engine in this process (as a runner would configure it) and served again.
        try
        {
            using var engine = await Task.Run(() => EngineBaseline.Load(new EngineSettings
            {
                ModelPath = prepared.Path,
                Slots = Slots,
                ContextSize = options.ContextSize,
                PrefillChunk = PrefillChunk,
                PrefillStallTarget = TimeSpan.FromMilliseconds(options.PrefillStallTargetMs),
                Threads = options.Threads,
            }), cancellationToken).ConfigureAwait(false);
            var results = await SingleStreamWorkload.RunAsync(
                [new SingleStreamRunner("engine", ct => engine.GenerateAsync(prompts.Single, tokens, clock, ct)), new SingleStreamRunner("served", Serve)],
                options.EffectiveRepetitions, options.SingleStreamMinimum, model.Errors, cancellationToken).ConfigureAwait(false);
            model.Engine = results.GetValueOrDefault("engine");
            model.ServedWithEngine = results.GetValueOrDefault("served");

            // The engine's own batching, N streams submitted at once, on the prompts the served sweep sends.
            foreach (var n in BatchingLevels(options))
            {
                await WaitForQuietAsync(cancellationToken).ConfigureAwait(false);
                var traces = await Task.WhenAll(Enumerable.Range(0, n).Select(i => engine.GenerateAsync(prompts.Sweep(i), tokens, clock, cancellationToken))).ConfigureAwait(false);
                foreach (var error in traces.Select(t => t.Error).OfType<string>().Distinct()) model.Errors.Add($"engine at {n} streams: {error}");
                model.EngineBatched.Add(new BatchedResult(n, ConcurrencySweep.Summarise(n, traces).AggregateDecodeTokensPerSecond));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            model.Errors.Add($"engine baseline: {e.Message}");
        }
        // Chained through the served figure of each phase, so a machine that changed speed between the phases
        // does not show up as engine cost: (engine ÷ served, phase 2) × (served ÷ raw, phase 1).
        model.EngineRatio = Statistics.Ratio(model.Engine?.DecodeTokensPerSecond, model.ServedWithEngine?.DecodeTokensPerSecond) * model.OverheadRatio;

        // :: Phase 3: the raw batching yardstick at the sweep's levels the server's slots hold, each after a quiet moment.
        var levels = BatchingLevels(options);
        if (levels.Count == 0) return;
        try
        {
            using var batched = await Task.Run(() => RawBatchBaseline.Load(prepared.Path, options.Threads, context, levels.Max()), cancellationToken).ConfigureAwait(false);
            foreach (var n in levels)
            {
                await WaitForQuietAsync(cancellationToken).ConfigureAwait(false);
                var traces = await batched.GenerateAsync([.. Enumerable.Range(0, n).Select(prompts.Sweep)], tokens, clock, cancellationToken).ConfigureAwait(false);
                model.RawBatched.Add(new BatchedResult(n, ConcurrencySweep.Summarise(n, traces).AggregateDecodeTokensPerSecond));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            model.Errors.Add($"raw batched baseline: {e.Message}");
        }
    }

    /// <summary>
    /// The levels the batching yardsticks run at: 1 and each sweep level the server's slots hold; none when the sweep
    /// never goes above one stream.
    /// </summary>
    private static IReadOnlyList<int> BatchingLevels(BenchOptions options)
    {
        var levels = options.EffectiveConcurrency.Where(n => n <= Slots).ToArray();
        return levels.Length == 0 || levels.Max() < 2 ? [] : [.. levels.Prepend(1).Distinct()];
    }

    private static async Task<ModelReport> MeasureTargetAsync(string name, BenchOptions options, BenchReport run, BenchClock clock, IBenchProgress progress,
        CancellationToken cancellationToken)
    {
        var tokens = options.TokensFor(null);
        var model = new ModelReport { Name = name, Description = $"'{name}' at {options.Target}", Tokens = tokens };
        using var client = new OpenAiStreamClient(options.Target!, options.ApiKey, clock);
        var prompts = new PromptSet(options.PromptTokens, options.LongPromptTokens, InterferenceStreams);

        // :: Step 3a (target): what the endpoint says about itself, and its tokenizer as a line (tokens = a + b · words),
        //    from two short requests of 200 and 400 words: the prompts are sized in the endpoint's own tokens.
        progress.Step(name, "probing the endpoint");
        ReadHealth(run, await client.TryGetJsonAsync("health", cancellationToken).ConfigureAwait(false));
        var probes = new List<StreamTrace>();
        foreach (var words in new[] { 200, 400 })
        {
            var probe = await client.CompleteAsync(new CompletionCall(name, WorkloadGenerator.Text(WorkloadGenerator.SeedFor("probe", words), words), 2), cancellationToken)
                .ConfigureAwait(false);
            if (!probe.Succeeded)
            {
                model.Errors.Add($"probe: {probe.Error ?? "no text came back"}");
                return model;
            }
            probes.Add(probe);
        }
        var (perWord, fixedTokens) = (1.4, 1.0);
        if (probes[0].PromptTokens is { } p200 && probes[1].PromptTokens is { } p400 && p400 > p200)
            (perWord, fixedTokens) = ((p400 - p200) / 200.0, p200 - 200 * ((p400 - p200) / 200.0));
        else
            model.Errors.Add("the endpoint reports no usage; prompt and completion lengths are estimates");
        prompts.Calibrate(text => EstimateTokens(text, perWord, fixedTokens), options.ContextSize, tokens);

        await WarmUpAsync(client, model, cancellationToken).ConfigureAwait(false);

        // :: Step 3b (target): served single stream only; the raw baseline needs the model file, which the endpoint keeps to itself.
        progress.Step(name, $"single stream (≥ {options.EffectiveRepetitions} runs)");
        var results = await SingleStreamWorkload.RunAsync(
            [new SingleStreamRunner("served", ct => client.CompleteAsync(new CompletionCall(name, prompts.Single, tokens), ct))],
            options.EffectiveRepetitions, options.SingleStreamMinimum, model.Errors, cancellationToken).ConfigureAwait(false);
        model.Served = results.GetValueOrDefault("served");
        model.Errors.Add("no raw baseline against --target (the model file is the endpoint's), so no overhead_ratio");

        await MeasureServedAsync(model, options, tokens, prompts, client, clock, progress, cancellationToken).ConfigureAwait(false);
        run.IgnoreEosAccepted &= client.IgnoreEosAccepted;
        return model;
    }

    /// <summary>The workloads that only need the endpoint: the concurrency sweep and interference.</summary>
    private static async Task MeasureServedAsync(ModelReport model, BenchOptions options, int tokens, PromptSet prompts, OpenAiStreamClient client,
        BenchClock clock, IBenchProgress progress, CancellationToken cancellationToken)
    {
        // :: Step 3d: the concurrency sweep, each level run several times (the median run reported).
        foreach (var level in options.EffectiveConcurrency)
        {
            progress.Step(model.Name, $"{level} concurrent stream{(level == 1 ? "" : "s")} (× {options.SweepRepetitions})");
            try
            {
                var runs = new List<ConcurrencyResult>();
                for (var run = 0; run < options.SweepRepetitions; run++)
                {
                    await WaitForQuietAsync(cancellationToken).ConfigureAwait(false);
                    runs.Add(await ConcurrencySweep.RunLevelAsync(client, model.Name, level, prompts.Sweep, tokens, cancellationToken).ConfigureAwait(false));
                }
                var result = ConcurrencySweep.Median(runs);
                model.Concurrency.Add(result);
                foreach (var e in runs.SelectMany(r => r.Errors).Distinct()) model.Errors.Add($"{level} streams: {e}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                model.Errors.Add($"{level} streams: {e.Message}");
            }
        }
        ConcurrencyResult? Level(int n) => model.Concurrency.FirstOrDefault(c => c.Streams == n);
        model.BatchingRatio4 = Statistics.Ratio(Level(4)?.AggregateDecodeTokensPerSecond, Level(1)?.AggregateDecodeTokensPerSecond);
        model.BatchingRatio8 = Statistics.Ratio(Level(8)?.AggregateDecodeTokensPerSecond, Level(1)?.AggregateDecodeTokensPerSecond);
        model.BatchingRatio4EndToEnd = Statistics.Ratio(Level(4)?.AggregateTokensPerSecond, Level(1)?.AggregateTokensPerSecond);
        model.BatchingRatio8EndToEnd = Statistics.Ratio(Level(8)?.AggregateTokensPerSecond, Level(1)?.AggregateTokensPerSecond);
        double? RawLevel(int n) => model.RawBatched.FirstOrDefault(r => r.Sequences == n)?.AggregateDecodeTokensPerSecond;
        model.RawBatchingRatio4 = Statistics.Ratio(RawLevel(4), RawLevel(1));
        model.RawBatchingRatio8 = Statistics.Ratio(RawLevel(8), RawLevel(1));
        model.BatchedOverheadRatio4 = Statistics.Ratio(Level(4)?.AggregateDecodeTokensPerSecond, RawLevel(4));
        double? EngineLevel(int n) => model.EngineBatched.FirstOrDefault(r => r.Sequences == n)?.AggregateDecodeTokensPerSecond;
        model.EngineBatchedRatio4 = Statistics.Ratio(EngineLevel(4), RawLevel(4));
        model.ServedOverEngineBatched4 = Statistics.Ratio(Level(4)?.AggregateDecodeTokensPerSecond, EngineLevel(4));
        model.TtftP95At8OverUnloaded = Statistics.Ratio(model.Concurrency.FirstOrDefault(c => c.Streams == 8)?.TtftMs?.P95,
            model.Concurrency.FirstOrDefault(c => c.Streams == 1)?.TtftMs?.P50);

        // :: Step 3e: interference.
        progress.Step(model.Name, $"interference: a {prompts.LongTokens}-token prompt among {InterferenceStreams} streams");
        try
        {
            await WaitForQuietAsync(cancellationToken).ConfigureAwait(false);
            model.Interference = await InterferenceWorkload.RunAsync(client, clock, model.Name, prompts.Background, prompts.BackgroundMaxTokens,
                prompts.Long, options.InterferenceBeforeTokens, cancellationToken).ConfigureAwait(false);
            foreach (var e in model.Interference.Errors) model.Errors.Add($"interference: {e}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            model.Errors.Add($"interference: {e.Message}");
        }

        // :: Step 3f: requests arriving one at a time at the loaded server (the fairness figure).
        var arrivals = options.Quick ? 6 : 16;
        progress.Step(model.Name, $"{arrivals} arrivals among {InterferenceStreams} streams");
        try
        {
            await WaitForQuietAsync(cancellationToken).ConfigureAwait(false);
            var unloaded = Level(1)?.TtftMs?.P50 ?? model.Served?.TtftMs;
            model.ArrivalsUnderLoad = await ArrivalsUnderLoadWorkload.RunAsync(client, model.Name, prompts.Background, prompts.BackgroundMaxTokens,
                prompts.Arrival, arrivals, unloaded, cancellationToken).ConfigureAwait(false);
            model.TtftP95ArrivingAt8OverUnloaded = model.ArrivalsUnderLoad.TtftP95OverUnloaded;
            foreach (var e in model.ArrivalsUnderLoad.Errors) model.Errors.Add($"arrivals: {e}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            model.Errors.Add($"arrivals: {e.Message}");
        }
    }

    /// <summary>
    /// Steady state before anything is measured: the model loaded, and the server's per-request code compiled to its
    /// final tier (.NET recompiles a method once it has been called 30 times, in the background). 32 tiny requests,
    /// four at a time, so the batched paths are warm too. A server that has run for a while is like this; one just
    /// started is not, and its first requests measured about a third slower.
    /// </summary>
    private static async Task WarmUpAsync(OpenAiStreamClient client, ModelReport model, CancellationToken cancellationToken)
    {
        const int Requests = 32, AtOnce = 4;
        for (var i = 0; i < Requests; i += AtOnce)
        {
            var traces = await Task.WhenAll(Enumerable.Range(i, AtOnce).Select(n =>
                client.CompleteAsync(new CompletionCall(model.Name, WorkloadGenerator.Text(WorkloadGenerator.SeedFor("warm-up", n), 4), 4), cancellationToken)))
                .ConfigureAwait(false);
            if (traces.FirstOrDefault(t => !t.Succeeded) is { } failed)
            {
                model.Errors.Add($"warm-up: {failed.Error ?? "no text came back"}");
                return;
            }
        }
    }

    /// <summary>Before a workload: up to 3 s for the machine to be quiet (see <see cref="CpuActivity"/>).</summary>
    private static Task WaitForQuietAsync(CancellationToken cancellationToken) =>
        CpuActivity.WaitForQuietAsync(0.3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(3), cancellationToken);

    private static void ReadHealth(BenchReport run, JsonNode? health)
    {
        if (health is null) return;
        if (health["backend"] is JsonValue backend && backend.TryGetValue<string>(out var b) && !b.Contains("no model loaded", StringComparison.Ordinal))
            run.Backend = b;
        if (health["version"] is JsonValue version && version.TryGetValue<string>(out var v)) run.ServerVersion = v;
    }

    /// <summary>Tokens of a text estimated from its words (<paramref name="fixedTokens"/> + words × <paramref name="tokensPerWord"/>), where no tokenizer is at hand.</summary>
    internal static int EstimateTokens(string text, double tokensPerWord, double fixedTokens) =>
        (int)Math.Round(fixedTokens + text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length * tokensPerWord);

    /// <summary>The issue's targets that apply to this model (by its class), with this run's figures.</summary>
    internal static void AddTargets(ModelReport model, BenchModelSpec? spec)
    {
        if (spec?.IsLarge == true)
        {
            model.Targets.Add(new TargetCheck("overhead_ratio", "served ≥ 97% of raw single-stream decode on the ~400M model", 0.97, model.OverheadRatio));
            model.Targets.Add(new TargetCheck("batching_ratio_4", "aggregate decode at 4 streams ≥ 1.7 × single stream on the ~400M model", 1.7, model.BatchingRatio4));
        }
        if (spec?.IsTiny == true)
            model.Targets.Add(new TargetCheck("overhead_ratio", "served ≥ 85% of raw single-stream decode on stories260K", 0.85, model.OverheadRatio));
        if (spec is not null)
            model.Targets.Add(new TargetCheck("engine_ratio", "engine single-stream decode within 10% of the synchronous LLamaSharp loop", 0.90, model.EngineRatio));
        model.Targets.Add(new TargetCheck("ttft_p95_arriving_at_8_over_unloaded",
            "TTFT p95 of a request arriving while 7 streams generate ≤ 1.5 × unloaded TTFT + one prefill (≈ 2.5 × unloaded TTFT)", 2.5,
            model.TtftP95ArrivingAt8OverUnloaded, AtMost: true));
    }
}
