using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.Workloads;

public sealed class WorkloadGeneratorTests
{
    /// <summary>A tokenizer that counts BOS plus one token per word, so lengths are exact.</summary>
    private static int OneTokenPerWord(string text) => 1 + text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public void The_same_seed_and_length_give_the_same_text_on_every_machine()
    {
        // Pinned: a change here changes every benchmark prompt, so results stop being comparable across versions.
        Assert.Equal(Golden, WorkloadGenerator.Text(42, 20));
        Assert.Equal(WorkloadGenerator.Text(7, 300), WorkloadGenerator.Text(7, 300));
    }

    private const string Golden = "Get Ben by do jumped book did said way Lily wanted. She so way red come they book. Sky boy.";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(2000)]
    public void Text_has_exactly_the_words_asked_for(int words)
    {
        var text = WorkloadGenerator.Text(3, words);
        Assert.Equal(words, text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Text_is_sentences_of_6_to_13_words_each_starting_with_a_capital()
    {
        var text = WorkloadGenerator.Text(11, 500);
        Assert.EndsWith(".", text, StringComparison.Ordinal);
        var sentences = text.Split(". ", StringSplitOptions.None);
        foreach (var sentence in sentences[..^1])
        {
            var words = sentence.Split(' ');
            Assert.InRange(words.Length, 6, 13);
            Assert.True(char.IsUpper(words[0][0]), sentence);
        }
        Assert.All(text, c => Assert.True(char.IsAsciiLetter(c) || c is ' ' or '.', $"unexpected '{c}'"));
    }

    [Fact]
    public void Different_seeds_share_no_prefix_worth_caching()
    {
        var texts = Enumerable.Range(0, 16).Select(i => WorkloadGenerator.Text(WorkloadGenerator.SeedFor("sweep", i), 50)).ToArray();
        Assert.Equal(16, texts.Select(t => string.Join(' ', t.Split(' ').Take(4))).Distinct().Count());
    }

    [Fact]
    public void Seeds_are_stable_across_processes_and_apart_across_workloads()
    {
        Assert.Equal(WorkloadGenerator.SeedFor("sweep", 3), WorkloadGenerator.SeedFor("sweep", 3));
        Assert.NotEqual(WorkloadGenerator.SeedFor("sweep", 0), WorkloadGenerator.SeedFor("background", 0));
        Assert.NotEqual(WorkloadGenerator.SeedFor("sweep", 0), WorkloadGenerator.SeedFor("sweep", 1));
        // FNV-1a of "" is its offset basis; index 0 leaves it unchanged.
        Assert.Equal(14695981039346656037UL, WorkloadGenerator.SeedFor("", 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(128)]
    [InlineData(2000)]
    public void ForTokens_finds_the_longest_text_within_the_target(int target)
    {
        var text = WorkloadGenerator.ForTokens(5, target, OneTokenPerWord);
        // BOS + words ≤ target, and one word more would not fit (one word minimum).
        Assert.Equal(Math.Max(1, target - 1), text.Split(' ').Length);
        Assert.Equal(WorkloadGenerator.Text(5, Math.Max(1, target - 1)), text);
    }

    [Fact]
    public void ForTokens_works_with_a_tokenizer_that_splits_words()
    {
        // One token per character: the answer is the longest prefix-by-words of at most 300 characters.
        var text = WorkloadGenerator.ForTokens(9, 300, t => t.Length);
        Assert.True(text.Length <= 300);
        var words = text.Split(' ').Length;
        Assert.True(WorkloadGenerator.Text(9, words + 1).Length > 300);
    }

    [Fact]
    public void PromptSet_sizes_every_prompt_and_leaves_room_in_the_context()
    {
        var prompts = new PromptSet(promptTokens: 64, longPromptTokens: 2000, backgroundStreams: 7);
        prompts.Calibrate(OneTokenPerWord, contextSize: 1024, completionTokens: 32);

        Assert.True(prompts.IsCalibrated);
        Assert.Equal(64, OneTokenPerWord(prompts.Single));
        Assert.Equal(7, prompts.Background.Count);
        Assert.Equal(7, prompts.Background.Distinct().Count());
        Assert.All(prompts.Background, p => Assert.Equal(64, OneTokenPerWord(p)));
        Assert.Equal(64, OneTokenPerWord(prompts.Sweep(15)));
        Assert.NotEqual(prompts.Sweep(0), prompts.Sweep(1));
        // The long prompt is capped by the context, with room for its own tokens.
        Assert.Equal(1024 - 16, prompts.LongTokens);
        Assert.Equal(1024 - 16, OneTokenPerWord(prompts.Long));
        // Background streams may generate until the context is full (less the margin).
        Assert.Equal(1024 - 64 - 16, prompts.BackgroundMaxTokens);
    }
}
