using System.Text;
using LLama.Native;
using Sovereign.Core.Errors;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Embeddings;

/// <summary>
/// GGUF embeddings in the engine, on the real stories260K model (its vectors mean nothing, but they are real and
/// deterministic), checked against an independent mean-pooling oracle written directly against llama.cpp.
/// </summary>
[Collection(RealModelCollection.Name)]
public sealed class LlamaEmbeddingTests
{
    private static float Dot(float[] a, float[] b) => a.Zip(b).Sum(p => p.First * p.Second);

    [Fact]
    public void Vectors_equal_the_mean_of_the_token_embeddings_normalised()
    {
        const string Text = "Once upon a time there was a cat";
        using var engine = TestModel.Load(s => s.ContextSize = 256);

        var result = engine.Embed([Text], truncate: false, CancellationToken.None);

        var expected = ReferenceMeanPooling(Text);
        Assert.Equal(expected.Length, result.Vectors[0].Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], result.Vectors[0][i], 3);
        Assert.Equal(engine.Tokenize(Text, addBos: true).Length, result.PromptTokens);
    }

    [Fact]
    public void Vectors_are_unit_length_deterministic_and_differ_between_texts()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 256);

        var first = engine.Embed(["The dog ran home.", "Lily ate an apple."], truncate: false, CancellationToken.None);
        var again = engine.Embed(["The dog ran home.", "Lily ate an apple."], truncate: false, CancellationToken.None);

        Assert.Equal(64, first.Vectors[0].Length); // stories260K's embedding width
        Assert.All(first.Vectors, v => Assert.Equal(1.0, Math.Sqrt(Dot(v, v)), 3));
        Assert.Equal(first.Vectors, again.Vectors);
        Assert.True(Dot(first.Vectors[0], first.Vectors[1]) < 0.9999f);
    }

    [Fact]
    public void A_batch_over_several_decodes_equals_embedding_one_by_one()
    {
        // More inputs than one decode takes (16 sequences), and long ones, so packing splits by sequences and by tokens.
        var texts = Enumerable.Range(0, 21)
            .Select(i => i % 5 == 0 ? string.Join(' ', Enumerable.Repeat($"story {i} about a big red ball", 6)) : $"Tom saw {i} birds.")
            .ToArray();
        using var engine = TestModel.Load(s => s.ContextSize = 128);

        var together = engine.Embed(texts, truncate: false, CancellationToken.None);

        Assert.Equal(texts.Length, together.Vectors.Length);
        var tokens = 0;
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = engine.Embed([texts[i]], truncate: false, CancellationToken.None);
            Assert.Equal(1.0f, Dot(together.Vectors[i], alone.Vectors[0]), 4);
            tokens += alone.PromptTokens;
        }
        Assert.Equal(tokens, together.PromptTokens);
    }

    [Fact]
    public void An_input_longer_than_the_context_is_refused_unless_truncated()
    {
        var text = string.Join(' ', Enumerable.Repeat("Once upon a time", 100));
        using var engine = TestModel.Load(s => s.ContextSize = 64);

        var error = Assert.Throws<SovereignException>(() => engine.Embed([text], truncate: false, CancellationToken.None));
        var truncated = engine.Embed([text], truncate: true, CancellationToken.None);

        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("input_too_long", error.Code);
        Assert.Contains("64", error.Message);
        Assert.Equal(64, truncated.PromptTokens);
    }

    [Fact]
    public async Task Generation_gives_the_same_text_while_embeddings_are_computed()
    {
        using var engine = TestModel.Load();
        var alone = await RunAsync(engine, TestModel.Greedy("Once upon a time", 60));

        var embedding = Task.Run(() =>
        {
            for (var i = 0; i < 5; i++) engine.Embed(["The sun was hot.", "Ben had a kite."], truncate: false, CancellationToken.None);
        });
        var during = await RunAsync(engine, TestModel.Greedy("Once upon a time", 60));
        await embedding;

        Assert.Equal(alone.Text, during.Text);
    }

    /// <summary>One sequence, no pooling: average the per-token outputs by hand, then normalise.</summary>
    private static float[] ReferenceMeanPooling(string text)
    {
        NativeApi.llama_empty_call();
        var modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = 0;
        using var model = SafeLlamaModelHandle.LoadFromFile(TestModel.Path, modelParams);
        var p = LLamaContextParams.Default();
        p.n_ctx = 256;
        p.n_batch = 256;
        p.n_ubatch = 256;
        p.n_seq_max = 1;
        p.n_threads = 1;
        p.n_threads_batch = 1;
        p.embeddings = true;
        p.llama_pooling_type = LLamaPoolingType.None;
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        using var context = SafeLLamaContextHandle.Create(model, p);

        var tokens = model.Tokenize(text, model.Vocab.ShouldAddBOS, false, Encoding.UTF8);
        var batch = new LLamaBatch();
        batch.AddRange(tokens, 0, (LLamaSeqId)0, true);
        Assert.Equal(DecodeResult.Ok, context.Decode(batch));

        var sum = new double[context.EmbeddingSize];
        for (var t = 0; t < tokens.Length; t++)
        {
            var e = context.GetEmbeddingsIth(t);
            for (var i = 0; i < sum.Length; i++) sum[i] += e[i];
        }
        var norm = Math.Sqrt(sum.Sum(x => x * x));
        return sum.Select(x => (float)(x / norm)).ToArray();
    }
}
