namespace Sovereign.Inference.Engine;

// Reranking: a context of its own, made on first use, so a model that never reranks pays nothing for it.
public sealed partial class LlamaEngine
{
    private readonly Lock _rerankerGate = new();
    private LlamaReranker? _reranker;

    /// <summary>
    /// Scores each of <paramref name="documents"/> for relevance to <paramref name="query"/> with this model (see
    /// <see cref="LlamaReranker"/> for the two methods), each document cut to <paramref name="maxDocumentTokens"/>.
    /// Blocks the calling thread while it computes; generation goes on meanwhile in its own context. Thread-safe.
    /// </summary>
    /// <exception cref="Core.Errors.SovereignException">400 when the model cannot rerank, 503 once the engine is disposed.</exception>
    public RerankResult Rerank(string query, IReadOnlyList<string> documents, int maxDocumentTokens, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        LlamaReranker reranker;
        lock (_rerankerGate)
        {
            ThrowIfDisposed();
            reranker = _reranker ??= new LlamaReranker(_model, ContextSize, _embeddingThreads);
        }
        try
        {
            return reranker.Rerank(query, documents, maxDocumentTokens, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            ThrowIfDisposed();
            throw;
        }
    }

    private void DisposeReranker()
    {
        lock (_rerankerGate)
        {
            _reranker?.Dispose();
            _reranker = null;
        }
    }
}
