using Sovereign.Bench.Models;

namespace Sovereign.Bench;

/// <summary>
/// What `sov bench` was asked to do. Unset values take the defaults of a full run, or of a quick one with
/// <see cref="Quick"/>. Immutable; <see cref="Validate"/> reports every problem at once.
/// </summary>
public sealed record BenchOptions
{
    /// <summary>An OpenAI-compatible endpoint to drive instead of a Sovereign server started for the run. Default null.</summary>
    public Uri? Target { get; init; }

    /// <summary>Bearer key for <see cref="Target"/>. Default null (none sent).</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Models to measure: known names (<see cref="BenchModels.Known"/>) or GGUF paths; with <see cref="Target"/>, the
    /// model names the endpoint serves (required then). Default: every known model, or two with <see cref="Quick"/>.
    /// </summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>A development run under 3 minutes: stories260K and the ~60M Q8_0, short generations, 2 repetitions.</summary>
    public bool Quick { get; init; }

    /// <summary>Where results.json, results.md and the plots go. Required.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Concurrent streams of the sweep. Default 1, 2, 4, 8, 16.</summary>
    public IReadOnlyList<int>? Concurrency { get; init; }

    /// <summary>Tokens generated per request, for every model. Default: each model's own (stories260K 512, others 128; less with --quick).</summary>
    public int? Tokens { get; init; }

    /// <summary>
    /// Fewest runs of each single-stream measurement (after one warm-up), interleaved with served runs; more are made
    /// while a phase has taken less than 8 s (3 s with --quick). Default 3, or 2 with --quick.
    /// </summary>
    public int? Repetitions { get; init; }

    /// <summary>Prompt tokens of single-stream and sweep requests. Default 128.</summary>
    public int PromptTokens { get; init; } = 128;

    /// <summary>CPU threads for the baselines and the server's engine; 0 = every core. Default 0.</summary>
    public int Threads { get; init; }

    /// <summary>Context tokens per sequence (the server's Sovereign:Engine:ContextSize), room for the 2,000-token prompt. Default 4096.</summary>
    public int ContextSize { get; init; } = 4096;

    /// <summary>
    /// The server's Sovereign:Engine:PrefillStallTarget in milliseconds: about how long a step that prefills may take
    /// while streams generate; 0 prefills a whole chunk each step. Default 0 (the server's own default).
    /// </summary>
    public int PrefillStallTargetMs { get; init; }

    /// <summary>The interference workload's long prompt, capped by each model's context. Default 2000.</summary>
    public int LongPromptTokens { get; init; } = 2000;

    /// <summary>Where synthetic models are written and reused. Default <c>bench/out/models</c> in the repository, else a user cache folder.</summary>
    public string? ModelCache { get; init; }

    /// <summary>
    /// The model of the embeddings workload (texts/s at batch 1, 8, 32 through /v1/embeddings). Default the built-in
    /// all-minilm; <c>none</c> skips the workload.
    /// </summary>
    public string EmbeddingModel { get; init; } = "all-minilm";

    /// <summary>
    /// The cluster workload (time to first token through a second node against the node that runs the model): true runs
    /// it, false skips it, null (default) runs it in full runs of Sovereign itself when redis-server is installed.
    /// </summary>
    public bool? Cluster { get; init; }

    /// <summary>
    /// The retrieval workload (search p50/p95 by index size, ingestion pages/s, recall@5 on the labelled set), run in
    /// this process against the knowledge code: true or null (default) runs it in runs of Sovereign itself, false skips it.
    /// </summary>
    public bool? Retrieval { get; init; }

    /// <summary>Index sizes (chunks) of the retrieval latency figures. Default 10,000 and 100,000, or 2,000 with --quick.</summary>
    public IReadOnlyList<int>? RetrievalChunks { get; init; }

    /// <summary>
    /// A reranker GGUF (a path or a known model name) for the retrieval workload's hybrid+rerank recall@5. Default none.
    /// </summary>
    public string? Reranker { get; init; }

    public static IReadOnlyList<int> DefaultConcurrency { get; } = [1, 2, 4, 8, 16];

    public static IReadOnlyList<int> DefaultRetrievalChunks { get; } = [10_000, 100_000];

    /// <summary>Every problem with these options, each naming its option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(OutputDirectory)) errors.Add("--out: an output folder is required.");
        if (Target is { } t && t.Scheme is not ("http" or "https")) errors.Add($"--target: '{t}' is not an http(s) address.");
        if (Target is not null && Models.Count == 0) errors.Add("--model: with --target, name the model(s) the endpoint serves.");
        if (Target is not null && Cluster == true) errors.Add("--cluster: measures two Sovereign nodes the benchmark starts itself; it cannot be combined with --target.");
        if (Target is null)
        {
            foreach (var m in Models)
            {
                if (BenchModels.Find(m) is null)
                    errors.Add($"--model: '{m}' is neither a known model ({string.Join(", ", BenchModels.Known.Select(k => k.Name))}) nor a .gguf file.");
            }
        }
        if (Concurrency is { } c)
        {
            if (c.Count == 0) errors.Add("--concurrency: give at least one level, e.g. 1,2,4,8,16.");
            if (c.Any(n => n is < 1 or > 256)) errors.Add($"--concurrency: levels must be between 1 and 256, got {string.Join(",", c)}.");
        }
        if (Tokens is { } n && n is < 2 or > 8192) errors.Add($"--tokens must be between 2 and 8192, got {n}.");
        if (Repetitions is { } r && r is < 1 or > 50) errors.Add($"--repetitions must be between 1 and 50, got {r}.");
        if (PromptTokens is < 1 or > 8192) errors.Add($"--prompt-tokens must be between 1 and 8192, got {PromptTokens}.");
        if (Threads is < 0 or > 1024) errors.Add($"--threads must be between 0 and 1024, got {Threads}.");
        if (PrefillStallTargetMs is < 0 or > 600_000) errors.Add($"--prefill-stall-target must be between 0 and 600000 ms, got {PrefillStallTargetMs}.");
        if (ContextSize is < 256 or > 131_072) errors.Add($"--context-size must be between 256 and 131072, got {ContextSize}.");
        if (string.IsNullOrWhiteSpace(EmbeddingModel)) errors.Add("--embedding-model: name a model, or 'none' to skip the embeddings workload.");
        if (RetrievalChunks is { } sizes)
        {
            if (sizes.Count == 0) errors.Add("--retrieval-chunks: give at least one index size, e.g. 10000,100000.");
            if (sizes.Any(n => n is < 100 or > 1_000_000)) errors.Add($"--retrieval-chunks: sizes must be between 100 and 1000000, got {string.Join(",", sizes)}.");
        }
        if (Reranker is { } reranker && BenchModels.Find(reranker) is null)
            errors.Add($"--reranker: '{reranker}' is neither a known model nor a .gguf file.");
        if (Reranker is not null && Retrieval == false) errors.Add("--reranker: is used by the retrieval workload, which --retrieval false skips.");
        if (LongPromptTokens is < 16 or > 131_072) errors.Add($"--long-prompt-tokens must be between 16 and 131072, got {LongPromptTokens}.");
        return errors;
    }

    internal IReadOnlyList<int> EffectiveConcurrency => [.. (Concurrency ?? DefaultConcurrency).Distinct().Order()];

    internal IReadOnlyList<int> EffectiveRetrievalChunks => [.. (RetrievalChunks ?? (Quick ? [2_000] : DefaultRetrievalChunks)).Distinct().Order()];

    internal int EffectiveRepetitions => Repetitions ?? (Quick ? 2 : 3);

    /// <summary>Runs of each sweep level (the median reported); one with --quick, which must stay under 3 minutes.</summary>
    internal int SweepRepetitions => Repetitions ?? (Quick ? 1 : 3);

    /// <summary>Least time a single-stream phase takes (more rounds are made until it has passed); none when --repetitions is given.</summary>
    internal TimeSpan SingleStreamMinimum => Repetitions is not null ? TimeSpan.Zero : TimeSpan.FromSeconds(Quick ? 3 : 8);

    internal int TokensFor(BenchModelSpec? spec) => Tokens ?? (spec is null ? (Quick ? 64 : 128) : Quick ? spec.QuickTokens : spec.Tokens);

    /// <summary>Tokens each background stream generates in steady state before the long prompt is sent.</summary>
    internal int InterferenceBeforeTokens => Quick ? 16 : 32;
}
