namespace Sovereign.Core.Embeddings;

/// <summary>
/// Turns texts into vectors with an embedding model: the built-in default (MiniLM, carried by a NuGet package) or an
/// imported GGUF embedding model run by llama.cpp. Inputs are embedded in batches, not one at a time. Thread-safe.
/// </summary>
public interface IEmbeddingService
{
    /// <summary>The model used when a caller names none (the built-in one).</summary>
    string DefaultModel { get; }

    /// <summary>
    /// Embeds <paramref name="inputs"/> in order with <paramref name="model"/> (null: <see cref="DefaultModel"/>).
    /// Unknown model → 404 <c>model_not_found</c>; empty or oversized input → 400; both as SovereignException.
    /// </summary>
    Task<EmbeddingBatch> EmbedAsync(string? model, IReadOnlyList<string> inputs, CancellationToken cancellationToken = default);
}

/// <param name="Model">The model that produced the vectors (its canonical name).</param>
/// <param name="Vectors">One L2-normalised vector per input, in input order.</param>
/// <param name="PromptTokens">Tokens read across all inputs (OpenAI's usage.prompt_tokens).</param>
public sealed record EmbeddingBatch(string Model, IReadOnlyList<float[]> Vectors, int PromptTokens)
{
    public int Dimensions => Vectors.Count == 0 ? 0 : Vectors[0].Length;
}
