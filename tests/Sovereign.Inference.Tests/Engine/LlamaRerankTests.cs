using System.Text;
using LLama.Native;
using Sovereign.Inference.Engine;
using static Sovereign.Inference.Tests.Streams;

namespace Sovereign.Inference.Tests.Engine;

/// <summary>
/// Reranking in the engine on the real stories260K model. It has no rank pooling, so the yes/no method applies: its
/// scores mean nothing, but they are real logits, checked against an oracle that decodes the same prompt alone.
/// </summary>
[Collection(RealModelCollection.Name)]
public sealed class LlamaRerankTests
{
    private const string Query = "Where did Lily go?";

    [Fact]
    public void A_causal_model_scores_each_document_by_the_odds_of_yes_against_no_after_the_prompt()
    {
        string[] documents = ["Lily went to the park with her mom.", "Ben had a big red ball.", "The sun was hot."];
        using var engine = TestModel.Load(s => s.ContextSize = 256);

        var result = engine.Rerank(Query, documents, maxDocumentTokens: 200, CancellationToken.None);

        Assert.Equal(LlamaReranker.YesNoMethod, result.Method);
        Assert.Equal(documents.Length, result.Scores.Length);
        for (var i = 0; i < documents.Length; i++)
        {
            Assert.InRange(result.Scores[i], 0f, 1f);
            Assert.Equal(ReferenceYesProbability(LlamaReranker.YesNoPrompt(Query, documents[i])), result.Scores[i], 4);
        }
        Assert.True(result.Scores.Distinct().Count() > 1, "different documents should not all score alike");
    }

    [Fact]
    public void Many_documents_over_several_decodes_score_as_one_by_one_and_repeat_exactly()
    {
        // More documents than one decode takes (16 sequences), and long ones, so packing splits by sequences and tokens.
        var documents = Enumerable.Range(0, 21)
            .Select(i => i % 5 == 0 ? string.Join(' ', Enumerable.Repeat($"story {i} about a red ball", 4)) : $"Tom saw {i} birds.")
            .ToArray();
        using var engine = TestModel.Load(s => s.ContextSize = 160);

        var together = engine.Rerank(Query, documents, 64, CancellationToken.None);
        var again = engine.Rerank(Query, documents, 64, CancellationToken.None);

        Assert.Equal(together.Scores, again.Scores);
        var tokens = 0;
        for (var i = 0; i < documents.Length; i++)
        {
            var alone = engine.Rerank(Query, [documents[i]], 64, CancellationToken.None);
            Assert.Equal(alone.Scores[0], together.Scores[i], 4);
            tokens += alone.PromptTokens;
        }
        Assert.Equal(tokens, together.PromptTokens);
    }

    [Fact]
    public void A_document_is_cut_to_the_token_cap_and_never_overflows_the_context()
    {
        var longDocument = string.Join(' ', Enumerable.Repeat("Once upon a time there was a little girl named Lily.", 200));
        using var engine = TestModel.Load(s => s.ContextSize = 128);

        var capped = engine.Rerank(Query, [longDocument], maxDocumentTokens: 8, CancellationToken.None);
        var uncapped = engine.Rerank(Query, [longDocument], maxDocumentTokens: 100_000, CancellationToken.None);
        var empty = engine.Rerank(Query, [""], maxDocumentTokens: 8, CancellationToken.None);

        Assert.InRange(capped.PromptTokens, empty.PromptTokens + 1, empty.PromptTokens + 10);
        Assert.InRange(uncapped.PromptTokens, capped.PromptTokens, 128);
    }

    [Fact]
    public void A_cancelled_rerank_stops_before_decoding()
    {
        using var engine = TestModel.Load(s => s.ContextSize = 128);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => engine.Rerank(Query, ["Lily went home."], 64, cancelled.Token));
    }

    [Fact]
    public async Task Generation_gives_the_same_text_while_passages_are_reranked()
    {
        using var engine = TestModel.Load();
        var alone = await RunAsync(engine, TestModel.Greedy("Once upon a time", 60));

        var reranking = Task.Run(() =>
        {
            for (var i = 0; i < 5; i++) engine.Rerank(Query, ["The sun was hot.", "Lily went to the park."], 64, CancellationToken.None);
        });
        var during = await RunAsync(engine, TestModel.Greedy("Once upon a time", 60));
        await reranking;

        Assert.Equal(alone.Text, during.Text);
    }

    /// <summary>One sequence in a plain context: decode the prompt, read the last logits, P(yes) against "no".</summary>
    private static float ReferenceYesProbability(string prompt)
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
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        using var context = SafeLLamaContextHandle.Create(model, p);

        var tokens = model.Tokenize(prompt, model.Vocab.ShouldAddBOS, false, Encoding.UTF8);
        var batch = new LLamaBatch();
        var last = batch.AddRange(tokens, 0, (LLamaSeqId)0, true);
        Assert.Equal(DecodeResult.Ok, context.Decode(batch));
        var logits = context.GetLogitsIth(last);
        var yes = model.Tokenize("yes", false, false, Encoding.UTF8)[0];
        var no = model.Tokenize("no", false, false, Encoding.UTF8)[0];
        return (float)(1.0 / (1.0 + Math.Exp(-((double)logits[(int)yes] - logits[(int)no]))));
    }
}
