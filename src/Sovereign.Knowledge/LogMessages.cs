using Microsoft.Extensions.Logging;

namespace Sovereign.Knowledge;

/// <summary>Every log message of the knowledge area, with stable event ids (4000–4099). No document text above Trace.</summary>
internal static partial class LogMessages
{
    [LoggerMessage(4000, LogLevel.Information, "Ingesting document {DocumentId} into {KnowledgeBaseId} (attempt {Attempt})")]
    public static partial void IngestionStarted(this ILogger logger, string documentId, string knowledgeBaseId, int attempt);

    [LoggerMessage(4001, LogLevel.Information, "Document {DocumentId} is ready: {Chunks} chunks from {Pages} pages")]
    public static partial void IngestionFinished(this ILogger logger, string documentId, int chunks, int pages);

    [LoggerMessage(4002, LogLevel.Warning, "Document {DocumentId} failed: {Reason}")]
    public static partial void IngestionFailed(this ILogger logger, string documentId, string reason);

    [LoggerMessage(4003, LogLevel.Error, "Ingestion of document {DocumentId} crashed")]
    public static partial void IngestionCrashed(this ILogger logger, Exception exception, string documentId);

    [LoggerMessage(4004, LogLevel.Information, "Ingestion of document {DocumentId} was interrupted by shutdown; it resumes on the next start")]
    public static partial void IngestionInterrupted(this ILogger logger, string documentId);

    [LoggerMessage(4005, LogLevel.Information, "Resuming {Count} unfinished ingestion jobs")]
    public static partial void IngestionResuming(this ILogger logger, int count);

    [LoggerMessage(4006, LogLevel.Warning, "Looking for unfinished ingestion jobs failed; trying again at the next scan")]
    public static partial void IngestionScanFailed(this ILogger logger, Exception exception);

    [LoggerMessage(4007, LogLevel.Information, "Vector search: pgvector {Version} in {Database} (exact, in the database)")]
    public static partial void VectorSearchPgvector(this ILogger logger, string version, string database);

    [LoggerMessage(4008, LogLevel.Information, "Vector search: exact, in memory, partitioned ({Reason})")]
    public static partial void VectorSearchPartitioned(this ILogger logger, string reason);

    [LoggerMessage(4009, LogLevel.Warning, "{Database} offers the pgvector extension, but creating it failed: {Error}. Vector search stays in memory; have a superuser run CREATE EXTENSION vector, or set Sovereign:Knowledge:Pgvector=off to silence this")]
    public static partial void PgvectorCreateFailed(this ILogger logger, string database, string error);

    [LoggerMessage(4010, LogLevel.Information, "pgvector: filled the embeddings of {Rows} chunks stored without one (written before the extension was installed, or by a node not using it)")]
    public static partial void PgvectorFilled(this ILogger logger, int rows);
}
