using Sovereign.Models.Gguf;

namespace Sovereign.Bench.Models;

/// <summary>A model the benchmark knows by name: a file beside the repository, or a synthetic model it can write. Immutable.</summary>
/// <param name="Name">The name on the command line and in the results (also the name it gets in the server's store).</param>
/// <param name="Description">What the model stands for in the results.</param>
/// <param name="Tokens">Tokens generated per request, unless --tokens says otherwise: enough for a steady rate, few enough to be quick.</param>
/// <param name="QuickTokens">The same under --quick.</param>
public sealed record BenchModelSpec(string Name, string Description, int Tokens, int QuickTokens)
{
    /// <summary>The synthetic model's shape, or null for a model read from a file.</summary>
    public SyntheticLlamaOptions? Synthetic { get; init; }

    /// <summary>For a model from a file: where it is (absolute, or relative to the repository root).</summary>
    public string? FilePath { get; init; }

    /// <summary>The ~400M models, on which the serving and batching targets are set.</summary>
    public bool IsLarge { get; init; }

    /// <summary>The overhead-dominated case: a model so small that the platform's per-token cost shows.</summary>
    public bool IsTiny { get; init; }
}

/// <summary>A model ready to benchmark: its file exists. Immutable.</summary>
public sealed record PreparedModel(BenchModelSpec Spec, string Path, long SizeBytes, long? Parameters, string? Quantization, int? ContextLength);

/// <summary>
/// The models of a run. Synthetic ones (seeded random weights, vocabulary 32,000, llama architecture) are written once
/// into a cache folder and reused while their file is there; the name carries a version, so a changed shape gets a new
/// file. Nothing is downloaded. Stateless apart from the files; thread-safe for distinct cache folders.
/// </summary>
public static class BenchModels
{
    public const string Stories260K = "stories260k";

    /// <summary>Bumped whenever a synthetic shape changes, so stale cached files are not reused.</summary>
    private const string SyntheticVersion = "v1";

    // ~60M: 2 × 32000 × 512 embeddings + 8 layers of (4 · 512² + 3 · 512 · 1536) = 60.1M parameters.
    private static SyntheticLlamaOptions Shape60M(GgmlType type) => new()
    {
        VocabSize = 32_000,
        EmbeddingLength = 512,
        BlockCount = 8,
        HeadCount = 8,
        FeedForwardLength = 1536,
        ContextLength = 4096,
        TensorType = type,
        Name = $"sovereign-bench-60m-{type.ToString().ToLowerInvariant()}",
    };

    // ~374M: 2 × 32000 × 1024 embeddings + 24 layers of (4 · 1024² + 3 · 1024 · 2816) = 374.1M parameters (the shape
    // the reference figures were taken on).
    private static SyntheticLlamaOptions Shape400M(GgmlType type) => new()
    {
        VocabSize = 32_000,
        EmbeddingLength = 1024,
        BlockCount = 24,
        HeadCount = 16,
        FeedForwardLength = 2816,
        ContextLength = 4096,
        TensorType = type,
        Name = $"sovereign-bench-400m-{type.ToString().ToLowerInvariant()}",
    };

    /// <summary>Every model the benchmark knows, in the order a full run measures them.</summary>
    public static IReadOnlyList<BenchModelSpec> Known { get; } =
    [
        new(Stories260K, "stories260K: real, trained, 260K parameters; per-token platform overhead dominates", 512, 256)
        {
            FilePath = Path.Combine("..", "shared", "models", "stories260K.gguf"),
            IsTiny = true,
        },
        new("synthetic-60m-q8_0", "synthetic llama, ~60M parameters, Q8_0", 128, 64) { Synthetic = Shape60M(GgmlType.Q8_0) },
        new("synthetic-60m-f16", "synthetic llama, ~60M parameters, F16", 128, 64) { Synthetic = Shape60M(GgmlType.F16) },
        new("synthetic-400m-q8_0", "synthetic llama, ~374M parameters, Q8_0", 128, 32) { Synthetic = Shape400M(GgmlType.Q8_0), IsLarge = true },
        new("synthetic-400m-f16", "synthetic llama, ~374M parameters, F16", 128, 32) { Synthetic = Shape400M(GgmlType.F16), IsLarge = true },
    ];

    /// <summary>The models of a run without --model: all of them, or stories260K and the ~60M Q8_0 with --quick.</summary>
    public static IReadOnlyList<BenchModelSpec> Defaults(bool quick) =>
        quick ? [.. Known.Where(m => m.Name is Stories260K or "synthetic-60m-q8_0")] : Known;

    /// <summary>
    /// A known model by name (case-insensitive), or a GGUF file by path (named after the file). Null when neither.
    /// </summary>
    public static BenchModelSpec? Find(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        var known = Known.FirstOrDefault(m => string.Equals(m.Name, nameOrPath, StringComparison.OrdinalIgnoreCase));
        if (known is not null) return known;
        if (nameOrPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(nameOrPath))
        {
            var name = Sovereign.Models.Store.ModelName.FromFileName(nameOrPath).Name;
            return new BenchModelSpec(name, $"{System.IO.Path.GetFileName(nameOrPath)} (given by path)", 128, 64) { FilePath = System.IO.Path.GetFullPath(nameOrPath) };
        }
        return null;
    }

    /// <summary>
    /// Makes sure the model's file exists: a synthetic one is written into <paramref name="cacheDirectory"/> unless a
    /// readable copy is already there; a file model is looked up relative to <paramref name="repositoryRoot"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file model is missing.</exception>
    public static PreparedModel Prepare(BenchModelSpec spec, string cacheDirectory, string? repositoryRoot)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string path;
        if (spec.Synthetic is { } shape)
        {
            Directory.CreateDirectory(cacheDirectory);
            path = System.IO.Path.Combine(cacheDirectory, $"{spec.Name}-{SyntheticVersion}.gguf");
            if (!IsReadableGguf(path))
                SyntheticLlamaModel.Write(path, shape);
        }
        else
        {
            var file = spec.FilePath ?? throw new InvalidOperationException($"Model '{spec.Name}' has neither a file nor a synthetic shape.");
            path = System.IO.Path.IsPathRooted(file) || repositoryRoot is null ? System.IO.Path.GetFullPath(file) : System.IO.Path.GetFullPath(System.IO.Path.Combine(repositoryRoot, file));
            if (!File.Exists(path)) throw new FileNotFoundException($"The model file for '{spec.Name}' is missing: {path}", path);
        }
        var header = GgufReader.Read(path);
        return new PreparedModel(spec, path, new FileInfo(path).Length, header.ParameterCount, header.Quantization, header.ContextLength);
    }

    /// <summary>The folder holding Sovereign.slnx, found by walking up from <paramref name="start"/>; null when there is none.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Sovereign.slnx"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>
    /// Where synthetic models are kept: <c>bench/out/models</c> in the repository (ignored by git) when the benchmark
    /// runs from a build inside it, else a folder under the user's cache directory.
    /// </summary>
    public static string DefaultCacheDirectory(string? repositoryRoot)
    {
        if (repositoryRoot is not null) return System.IO.Path.Combine(repositoryRoot, "bench", "out", "models");
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(cache, "sovereign", "bench-models");
    }

    private static bool IsReadableGguf(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            GgufReader.Read(path);
            return true;
        }
        catch (Exception e) when (e is IOException or GgufFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
