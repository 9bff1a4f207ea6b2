namespace Sovereign.Inference.Engine;

// Embeddings: a context of their own, made on first use, so a model that never embeds pays nothing for it.
public sealed partial class LlamaEngine
{
    private readonly Lock _embedderGate = new();
    private LlamaEmbedder? _embedder;

    /// <summary>
    /// Embeds <paramref name="texts"/> with this model (mean pooling over each input's tokens, L2-normalised), several
    /// inputs per decode. Blocks the calling thread while it computes; generation goes on meanwhile in its own
    /// context. Thread-safe.
    /// </summary>
    /// <exception cref="Core.Errors.SovereignException">400 for an input longer than <see cref="ContextSize"/> tokens
    /// (unless <paramref name="truncate"/>), 503 once the engine is disposed.</exception>
    public EmbeddingResult Embed(IReadOnlyList<string> texts, bool truncate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ThrowIfDisposed();
        LlamaEmbedder embedder;
        lock (_embedderGate)
        {
            ThrowIfDisposed();
            embedder = _embedder ??= new LlamaEmbedder(_model, ContextSize, _embeddingThreads);
        }
        try
        {
            return embedder.Embed(texts, truncate, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            ThrowIfDisposed();
            throw;
        }
    }

    private void DisposeEmbedder()
    {
        lock (_embedderGate)
        {
            _embedder?.Dispose();
            _embedder = null;
        }
    }
}
