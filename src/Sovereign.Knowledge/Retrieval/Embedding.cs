using Sovereign.Core.Embeddings;
using Sovereign.Inference.Embeddings;

namespace Sovereign.Knowledge.Retrieval;

/// <summary>
/// How knowledge embeds text: a passage or question longer than the model reads is cut to fit rather than refused,
/// since full-text search still sees all of it and the model's first 512 tokens carry its meaning well enough.
/// </summary>
internal static class Embedding
{
    public static Task<EmbeddingBatch> EmbedTruncatingAsync(this IEmbeddingService embeddings, string? model, IReadOnlyList<string> inputs,
        CancellationToken cancellationToken) =>
        embeddings is EmbeddingService builtIn
            ? builtIn.EmbedAsync(model, inputs, truncate: true, cancellationToken)
            : embeddings.EmbedAsync(model, inputs, cancellationToken);
}
