namespace Sovereign.Knowledge.Index;

/// <summary>
/// Chunks, their vectors and the full-text index of the knowledge bases of the tenant in
/// <see cref="Core.Tenancy.TenantScope"/>. The embedded default is SQLite (FTS5 for BM25, vectors searched exactly in
/// memory); a PostgreSQL implementation can follow for scale-out. Implementations are thread-safe.
/// </summary>
public interface IKnowledgeIndex
{
    /// <summary>
    /// Replaces every chunk of a document with <paramref name="chunks"/> (chunks, vectors and full-text rows) in one
    /// transaction: a failure leaves the index as it was, and running it twice leaves one copy. Throws 404 when the
    /// document no longer exists (it was deleted while its job ran).
    /// </summary>
    Task ReplaceDocumentAsync(string knowledgeBaseId, string documentId, IReadOnlyList<IndexedChunk> chunks, CancellationToken cancellationToken = default);

    /// <summary>Removes a document's chunks, vectors and full-text rows. Returns how many chunks went.</summary>
    Task<int> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default);

    /// <summary>Removes everything a knowledge base has in the index.</summary>
    Task DeleteBaseAsync(string knowledgeBaseId, CancellationToken cancellationToken = default);

    /// <summary>BM25 over the chunks' text and headings, best first; <see cref="ChunkMatch.Score"/> higher is better.</summary>
    Task<IReadOnlyList<ChunkMatch>> FullTextSearchAsync(string knowledgeBaseId, string query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default);

    /// <summary>Exact cosine similarity (vectors are L2-normalised: a dot product) against every chunk, best first.</summary>
    Task<IReadOnlyList<ChunkMatch>> VectorSearchAsync(string knowledgeBaseId, ReadOnlyMemory<float> query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default);

    /// <summary>The chunks with these keys, in the order asked (keys no longer present are skipped).</summary>
    Task<IReadOnlyList<StoredChunk>> GetChunksAsync(IReadOnlyList<long> keys, CancellationToken cancellationToken = default);

    /// <summary>Counts of what the index holds for a knowledge base (or one document of it).</summary>
    Task<IndexCounts> CountAsync(string knowledgeBaseId, string? documentId = null, CancellationToken cancellationToken = default);
}

/// <param name="Vector">L2-normalised embedding of <paramref name="Text"/>.</param>
public sealed record IndexedChunk(int Ordinal, string Text, int? Page, IReadOnlyList<string> HeadingPath, float[] Vector);

/// <param name="Key">The chunk's key inside the index.</param>
public readonly record struct ChunkMatch(long Key, double Score);

public sealed record StoredChunk(long Key, string Id, string KnowledgeBaseId, string DocumentId, string DocumentName, int Ordinal, string Text, int? Page,
    IReadOnlyList<string> HeadingPath);

public sealed record IndexCounts(int Chunks, int Vectors, int FullTextRows);
