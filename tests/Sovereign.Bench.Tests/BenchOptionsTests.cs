namespace Sovereign.Bench.Tests;

public sealed class BenchOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.Empty(new BenchOptions { OutputDirectory = "out" }.Validate());
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_its_option()
    {
        var options = new BenchOptions
        {
            OutputDirectory = "",
            Models = ["no-such-model"],
            Concurrency = [0, 4],
            Tokens = 1,
            Repetitions = 0,
            Threads = -1,
        };
        var errors = options.Validate();
        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("--out", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--model: 'no-such-model'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--concurrency", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--tokens", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--repetitions", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--threads", StringComparison.Ordinal));
    }

    [Fact]
    public void Retrieval_options_are_checked_and_quick_runs_a_smaller_index()
    {
        Assert.Equal([10_000, 100_000], new BenchOptions { OutputDirectory = "o" }.EffectiveRetrievalChunks);
        Assert.Equal([2_000], new BenchOptions { OutputDirectory = "o", Quick = true }.EffectiveRetrievalChunks);
        Assert.Equal([500, 1_000], new BenchOptions { OutputDirectory = "o", RetrievalChunks = [1_000, 500, 500] }.EffectiveRetrievalChunks);
        Assert.Empty(new BenchOptions { OutputDirectory = "o", Reranker = "stories260k" }.Validate());

        var errors = new BenchOptions { OutputDirectory = "o", RetrievalChunks = [10], Reranker = "no-such-reranker" }.Validate();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("--retrieval-chunks", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--reranker: 'no-such-reranker'", StringComparison.Ordinal));
        Assert.Contains(new BenchOptions { OutputDirectory = "o", Reranker = "stories260k", Retrieval = false }.Validate(), e => e.StartsWith("--reranker", StringComparison.Ordinal));
    }

    [Fact]
    public void A_target_needs_model_names_and_takes_any_of_them()
    {
        Assert.Contains(new BenchOptions { OutputDirectory = "o", Target = new Uri("http://127.0.0.1:8081") }.Validate(), e => e.StartsWith("--model", StringComparison.Ordinal));
        Assert.Empty(new BenchOptions { OutputDirectory = "o", Target = new Uri("http://127.0.0.1:8081"), Models = ["llama3.2:1b"] }.Validate());
        Assert.Single(new BenchOptions { OutputDirectory = "o", Target = new Uri("ftp://127.0.0.1"), Models = ["m"] }.Validate());
    }

    [Fact]
    public void Quick_runs_use_fewer_repetitions_and_shorter_generations_unless_told()
    {
        var quick = new BenchOptions { OutputDirectory = "o", Quick = true, Concurrency = [8, 1, 4, 4] };
        Assert.Equal(2, quick.EffectiveRepetitions);
        Assert.Equal([1, 4, 8], quick.EffectiveConcurrency);
        var stories = Sovereign.Bench.Models.BenchModels.Find("stories260k")!;
        Assert.Equal(stories.QuickTokens, quick.TokensFor(stories));
        Assert.Equal(32, (quick with { Tokens = 32 }).TokensFor(stories));
        Assert.Equal(3, new BenchOptions { OutputDirectory = "o" }.EffectiveRepetitions);
        Assert.Equal([1, 2, 4, 8, 16], new BenchOptions { OutputDirectory = "o" }.EffectiveConcurrency);
    }

    [Fact]
    public void The_server_gets_room_for_the_long_prompt_and_the_engine_settings_of_the_baseline()
    {
        var args = BenchRunner.ServerArguments(new BenchOptions { OutputDirectory = "o", Threads = 2 });
        Assert.Equal(["--Sovereign:Engine:ContextSize=4096", "--Sovereign:Engine:Slots=8", "--Sovereign:Engine:PrefillChunk=256",
            "--Sovereign:Engine:PrefillStallTarget=00:00:00", "--Sovereign:Engine:Threads=2"], args);
        var paced = BenchRunner.ServerArguments(new BenchOptions { OutputDirectory = "o", PrefillStallTargetMs = 500 });
        Assert.Contains("--Sovereign:Engine:PrefillStallTarget=00:00:00.5000000", paced);
    }

    [Fact]
    public void A_negative_stall_target_is_refused()
    {
        var problems = new BenchOptions { OutputDirectory = "o", PrefillStallTargetMs = -1 }.Validate();
        Assert.Contains(problems, p => p.Contains("--prefill-stall-target", StringComparison.Ordinal));
    }
}
