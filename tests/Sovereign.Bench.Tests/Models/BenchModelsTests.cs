using Sovereign.Bench.Models;
using Sovereign.Models.Gguf;

namespace Sovereign.Bench.Tests.Models;

public sealed class BenchModelsTests
{
    [Theory]
    [InlineData("synthetic-60m-q8_0", 55_000_000, 65_000_000)]
    [InlineData("synthetic-60m-f16", 55_000_000, 65_000_000)]
    [InlineData("synthetic-400m-q8_0", 350_000_000, 420_000_000)]
    [InlineData("synthetic-400m-f16", 350_000_000, 420_000_000)]
    public void Synthetic_models_have_the_sizes_the_issue_asks_for(string name, long min, long max)
    {
        var shape = BenchModels.Find(name)!.Synthetic!;
        shape.Validate();
        Assert.InRange(SyntheticLlamaModel.CountParameters(shape), min, max);
        Assert.Equal(32_000, shape.VocabSize);
        Assert.True(shape.ContextLength >= 4096, "room for the 2,000-token interference prompt");
    }

    [Fact]
    public void Both_quantisations_are_there_and_quick_runs_take_the_two_small_models()
    {
        var types = BenchModels.Known.Where(m => m.Synthetic is not null).Select(m => m.Synthetic!.TensorType).Distinct().Order().ToArray();
        Assert.Equal([GgmlType.F16, GgmlType.Q8_0], types);
        Assert.Equal(["stories260k", "synthetic-60m-q8_0"], BenchModels.Defaults(quick: true).Select(m => m.Name));
        Assert.Equal(BenchModels.Known.Count, BenchModels.Defaults(quick: false).Count);
        Assert.Equal(BenchModels.Known.Count, BenchModels.Known.Select(m => m.Name).Distinct().Count());
    }

    [Fact]
    public void Models_are_found_by_name_in_any_case_or_by_gguf_path()
    {
        Assert.Equal("stories260k", BenchModels.Find("Stories260K")!.Name);
        Assert.Null(BenchModels.Find("no-such-model"));
        var stories = Path.Combine(BenchModels.FindRepositoryRoot(AppContext.BaseDirectory)!, "..", "shared", "models", "stories260K.gguf");
        var byPath = BenchModels.Find(stories)!;
        Assert.Equal("stories260k", byPath.Name);
        Assert.Equal(Path.GetFullPath(stories), byPath.FilePath);
    }

    [Fact]
    public void The_repository_root_holds_the_solution_and_the_model_cache_lies_in_bench_out()
    {
        var root = BenchModels.FindRepositoryRoot(AppContext.BaseDirectory)!;
        Assert.True(File.Exists(Path.Combine(root, "Sovereign.slnx")));
        Assert.Equal(Path.Combine(root, "bench", "out", "models"), BenchModels.DefaultCacheDirectory(root));
        Assert.Null(BenchModels.FindRepositoryRoot(Path.GetTempPath()));
    }

    [Fact]
    public void A_synthetic_model_is_written_once_and_reused()
    {
        var cache = Path.Combine(Path.GetTempPath(), "sov-bench-cache-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var tiny = new BenchModelSpec("tiny", "a tiny synthetic model", 8, 8) { Synthetic = new SyntheticLlamaOptions { VocabSize = 300, ContextLength = 256 } };
            var first = BenchModels.Prepare(tiny, cache, repositoryRoot: null);
            var written = File.GetLastWriteTimeUtc(first.Path);
            var second = BenchModels.Prepare(tiny, cache, repositoryRoot: null);

            Assert.Equal(first.Path, second.Path);
            Assert.Equal(written, File.GetLastWriteTimeUtc(second.Path));
            Assert.Equal(256, second.ContextLength);
            Assert.Equal(SyntheticLlamaModel.CountParameters(tiny.Synthetic), second.Parameters);

            // A damaged cached file is written again.
            File.WriteAllText(first.Path, "not a model");
            var third = BenchModels.Prepare(tiny, cache, repositoryRoot: null);
            Assert.Equal(256, third.ContextLength);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void A_missing_model_file_is_a_clear_error()
    {
        var missing = new BenchModelSpec("gone", "missing", 8, 8) { FilePath = "/nonexistent/gone.gguf" };
        var e = Assert.Throws<FileNotFoundException>(() => BenchModels.Prepare(missing, Path.GetTempPath(), null));
        Assert.Contains("/nonexistent/gone.gguf", e.Message, StringComparison.Ordinal);
    }
}
