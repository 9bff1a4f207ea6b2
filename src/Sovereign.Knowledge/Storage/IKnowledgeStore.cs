namespace Sovereign.Knowledge.Storage;

/// <summary>
/// Knowledge bases and their documents for the tenant in <see cref="Core.Tenancy.TenantScope"/>: another tenant's
/// rows are never returned or changed. A document row is also its ingestion job (status, progress, stage, error).
/// Implementations are thread-safe.
/// </summary>
public interface IKnowledgeStore
{
    /// <summary>Creates a knowledge base; 409 <c>knowledge_base_exists</c> when the tenant already has one of that name.</summary>
    Task<KnowledgeBase> CreateBaseAsync(string name, string? description, string embeddingModel, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<KnowledgeBase>> ListBasesAsync(CancellationToken cancellationToken = default);

    /// <summary>The tenant's knowledge base with this id or name; null when there is none.</summary>
    Task<KnowledgeBase?> FindBaseAsync(string idOrName, CancellationToken cancellationToken = default);

    /// <summary>Deletes the base's row and its documents' rows (the index and the originals are the caller's to remove first).</summary>
    Task<bool> DeleteBaseAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Records an accepted document (its original already stored) with status queued; committed on return.</summary>
    Task<KnowledgeDocument> AddDocumentAsync(NewDocument document, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<KnowledgeDocument>> ListDocumentsAsync(string knowledgeBaseId, CancellationToken cancellationToken = default);

    Task<KnowledgeDocument?> FindDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default);

    Task<bool> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks a job as started (status processing, attempts + 1); returns the updated row, or null when it is not to be
    /// run: the document is gone, has finished (ready or failed), or another node holds a live claim on it.
    /// </summary>
    Task<KnowledgeDocument?> StartJobAsync(string documentId, CancellationToken cancellationToken = default);

    /// <summary>Records progress (0–1) and the stage the job is in.</summary>
    Task ReportProgressAsync(string documentId, double progress, string stage, CancellationToken cancellationToken = default);

    /// <summary>Records what extraction learned about the file (detected type, pages).</summary>
    Task RecordExtractionAsync(string documentId, string mediaType, int pages, int ocrPages, CancellationToken cancellationToken = default);

    /// <summary>Ends a job: ready with its chunk count, or failed with the reason.</summary>
    Task FinishJobAsync(string documentId, DocumentStatus status, int chunkCount, string? error, CancellationToken cancellationToken = default);

    /// <summary>
    /// Jobs that are queued or were interrupted (processing), of every tenant, oldest first. Only the ingestion runner
    /// calls this: it needs no tenant in scope and enters each job's tenant itself.
    /// </summary>
    Task<IReadOnlyList<PendingJob>> ListUnfinishedJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the document's original, as the database keeps it, to <paramref name="destination"/>, for a node that did
    /// not receive the upload. False when this store keeps no originals (SQLite: the file on the node's disk is the
    /// record) or the document is gone.
    /// </summary>
    Task<bool> CopyOriginalAsync(string documentId, Stream destination, CancellationToken cancellationToken = default);
}

public enum DocumentStatus
{
    Queued,
    Processing,
    Ready,
    Failed,
}

public sealed record KnowledgeBase(string Id, string TenantId, string Name, string? Description, string EmbeddingModel, DateTimeOffset CreatedAt,
    int DocumentCount, int ChunkCount);

/// <param name="OriginalPath">Where the original, stored as received, lives on disk.</param>
/// <param name="DeclaredType">The Content-Type the client sent (informative only: the type is decided from the bytes).</param>
public sealed record NewDocument(string Id, string KnowledgeBaseId, string Name, string OriginalPath, string Sha256, long Bytes, string? DeclaredType);

public sealed record KnowledgeDocument(
    string Id,
    string TenantId,
    string KnowledgeBaseId,
    string Name,
    string OriginalPath,
    string Sha256,
    long Bytes,
    string? DeclaredType,
    string? MediaType,
    int? Pages,
    int? OcrPages,
    int ChunkCount,
    DocumentStatus Status,
    double Progress,
    string? Stage,
    string? Error,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record PendingJob(string TenantId, string KnowledgeBaseId, string DocumentId);

/// <summary>Ids as the API shows them: a prefix and 24 random lowercase base-32 characters.</summary>
public static class KnowledgeIds
{
    public const string BasePrefix = "kb_";
    public const string DocumentPrefix = "doc_";

    public static string NewBaseId() => BasePrefix + Random();

    public static string NewDocumentId() => DocumentPrefix + Random();

    /// <summary>A chunk's id is its document's id and its position, so a re-run job gives the same ids.</summary>
    public static string ChunkId(string documentId, int ordinal) => $"{documentId}-{ordinal}";

    private static string Random() => System.Security.Cryptography.RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz234567", 24);
}
