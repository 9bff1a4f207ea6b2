namespace Sovereign.Web.Access;

/// <summary>A knowledge base as the knowledge page shows it. Immutable.</summary>
public sealed record WebKnowledgeBase(string Id, string Name, string? Description, string EmbeddingModel, DateTimeOffset CreatedAt,
    int DocumentCount, int ChunkCount);

/// <summary>A document of a knowledge base with its ingestion status (queued, processing, ready, failed) and progress 0–1. Immutable.</summary>
public sealed record WebDocument(string Id, string Name, long Bytes, string Status, double Progress, string? Stage, string? Error, int ChunkCount,
    DateTimeOffset CreatedAt)
{
    public bool IsSettled => Status is WebDocumentStatus.Ready or WebDocumentStatus.Failed;
}

public static class WebDocumentStatus
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Ready = "ready";
    public const string Failed = "failed";
}

/// <summary>A passage found by search, with what a citation needs. Immutable.</summary>
public sealed record WebPassage(string KnowledgeBaseId, string DocumentId, string DocumentName, string Text, int? Page, IReadOnlyList<string> HeadingPath,
    double Score);

/// <summary>
/// Knowledge bases of the signed-in user's tenant, over the same store, ingestion queue and search as
/// <c>/v1/knowledge</c> and with the same limits; a base of another tenant looks absent (null or false). Invalid input
/// throws <c>SovereignException</c> with a clear message. Thread-safe.
/// </summary>
public interface IKnowledgeAccess
{
    /// <summary>The largest file one upload may carry, in bytes.</summary>
    long MaxUploadBytes { get; }

    int MaxNameLength { get; }

    Task<IReadOnlyList<WebKnowledgeBase>> ListAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>Creates a base with the server's default embedding model; 409 when the tenant has one of that name.</summary>
    Task<WebKnowledgeBase> CreateAsync(string tenantId, string name, string? description, CancellationToken cancellationToken = default);

    /// <summary>Deletes the base, its documents and everything derived from them; false when absent.</summary>
    Task<bool> DeleteAsync(string tenantId, string id, CancellationToken cancellationToken = default);

    /// <summary>The base's documents; null when the base is absent.</summary>
    Task<IReadOnlyList<WebDocument>?> ListDocumentsAsync(string tenantId, string id, CancellationToken cancellationToken = default);

    /// <summary>Stores the original (durably) and queues its ingestion; the document comes back queued.</summary>
    Task<WebDocument> UploadAsync(string tenantId, string id, string fileName, string? contentType, Stream content,
        CancellationToken cancellationToken = default);

    Task<bool> DeleteDocumentAsync(string tenantId, string id, string documentId, CancellationToken cancellationToken = default);

    /// <summary>Hybrid search (full text and vectors) over the named bases (ids).</summary>
    Task<IReadOnlyList<WebPassage>> SearchAsync(string tenantId, IReadOnlyList<string> ids, string query, int topK,
        CancellationToken cancellationToken = default);
}
