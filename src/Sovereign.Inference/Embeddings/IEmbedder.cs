using Sovereign.Core.Embeddings;

namespace Sovereign.Inference.Embeddings;

/// <summary>One embedding backend for one model. Inputs arrive validated (non-empty, within the character limit). Thread-safe.</summary>
internal interface IEmbedder
{
    /// <param name="truncate">Cut inputs longer than the model reads instead of refusing them.</param>
    Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<string> inputs, bool truncate, CancellationToken cancellationToken);
}
