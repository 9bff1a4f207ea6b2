using BenchmarkDotNet.Attributes;
using Sovereign.Bench.Models;
using Sovereign.Models.Gguf;

namespace Sovereign.Bench.Micro;

/// <summary>
/// The GGUF header read that validates every model before llama.cpp sees it (import, and each load): metadata,
/// the vocabulary arrays and the tensor table, never the weights. Measured on stories260K and on a 32,000-token
/// synthetic vocabulary (the size of real llama vocabularies).
/// </summary>
[MemoryDiagnoser]
public class ModelLoadBenchmarks
{
    private byte[] _stories = [];
    private byte[] _vocab32K = [];

    [GlobalSetup]
    public void Setup()
    {
        var root = BenchModels.FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Run from a build inside the repository, so ../shared/models is found.");
        _stories = File.ReadAllBytes(Path.Combine(root, "..", "shared", "models", "stories260K.gguf"));
        // A 32,000-token vocabulary with the smallest weights that allow it: the header is the same size as a real model's.
        using var stream = new MemoryStream();
        SyntheticLlamaModel.Write(stream, new SyntheticLlamaOptions { VocabSize = 32_000, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1 });
        _vocab32K = stream.ToArray();
    }

    [Benchmark(Baseline = true, Description = "GGUF header: stories260K (512 tokens)")]
    public long Stories() => GgufReader.Read(new MemoryStream(_stories, writable: false), "stories260K.gguf").ParameterCount;

    [Benchmark(Description = "GGUF header: 32,000-token vocabulary")]
    public long Vocab32K() => GgufReader.Read(new MemoryStream(_vocab32K, writable: false), "synthetic.gguf").ParameterCount;
}
