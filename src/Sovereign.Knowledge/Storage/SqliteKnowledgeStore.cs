using Microsoft.Data.Sqlite;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Knowledge.Storage;

/// <summary>Knowledge bases and documents in the node's SQLite database. Thread-safe (a connection per call).</summary>
internal sealed class SqliteKnowledgeStore(SqliteDatabase database, TimeProvider time) : IKnowledgeStore
{
    private const string BaseColumns = """
        b.id, b.tenant_id, b.name, b.description, b.embedding_model, b.created_at,
        (SELECT COUNT(*) FROM kb_documents d WHERE d.kb_id = b.id),
        (SELECT COALESCE(SUM(d.chunk_count), 0) FROM kb_documents d WHERE d.kb_id = b.id)
        """;

    private const string DocumentColumns = """
        id, tenant_id, kb_id, name, original_path, sha256, bytes, declared_type, media_type, pages, ocr_pages, chunk_count,
        status, progress, stage, error, attempts, created_at, updated_at
        """;

    public async Task<KnowledgeBase> CreateBaseAsync(string name, string? description, string embeddingModel, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO knowledge_bases (id, tenant_id, name, description, embedding_model, created_at)
            VALUES ($id, $tenant, $name, $description, $model, $now)
            """;
        var id = KnowledgeIds.NewBaseId();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$description", (object?)description ?? DBNull.Value);
        command.Parameters.AddWithValue("$model", embeddingModel);
        command.Parameters.AddWithValue("$now", now);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the (tenant, name) pair exists
        {
            throw new SovereignException(ErrorKind.Conflict, $"A knowledge base named '{name}' already exists.", "name", "knowledge_base_exists");
        }
        return new KnowledgeBase(id, tenant, name, description, embeddingModel, DateTimeOffset.FromUnixTimeSeconds(now), 0, 0);
    }

    public async Task<IReadOnlyList<KnowledgeBase>> ListBasesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {BaseColumns} FROM knowledge_bases b WHERE b.tenant_id = $tenant ORDER BY b.created_at, b.name";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var bases = new List<KnowledgeBase>();
        while (await reader.ReadAsync(cancellationToken)) bases.Add(ReadBase(reader));
        return bases;
    }

    public async Task<KnowledgeBase?> FindBaseAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {BaseColumns} FROM knowledge_bases b WHERE b.tenant_id = $tenant AND (b.id = $key OR b.name = $key) ORDER BY b.id = $key DESC LIMIT 1";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$key", idOrName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadBase(reader) : null;
    }

    public async Task<bool> DeleteBaseAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM knowledge_bases WHERE tenant_id = $tenant AND id = $id";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<KnowledgeDocument> AddDocumentAsync(NewDocument document, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO kb_documents (id, tenant_id, kb_id, name, original_path, sha256, bytes, declared_type, status, progress, stage, created_at, updated_at)
            SELECT $id, $tenant, $kb, $name, $path, $sha, $bytes, $declared, 'queued', 0, 'queued', $now, $now
            WHERE EXISTS (SELECT 1 FROM knowledge_bases WHERE id = $kb AND tenant_id = $tenant)
            RETURNING {DocumentColumns}
            """;
        command.Parameters.AddWithValue("$id", document.Id);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$kb", document.KnowledgeBaseId);
        command.Parameters.AddWithValue("$name", document.Name);
        command.Parameters.AddWithValue("$path", document.OriginalPath);
        command.Parameters.AddWithValue("$sha", document.Sha256);
        command.Parameters.AddWithValue("$bytes", document.Bytes);
        command.Parameters.AddWithValue("$declared", (object?)document.DeclaredType ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            throw SovereignException.NotFound($"No knowledge base with id '{document.KnowledgeBaseId}'.", code: "knowledge_base_not_found");
        return ReadDocument(reader);
    }

    public async Task<IReadOnlyList<KnowledgeDocument>> ListDocumentsAsync(string knowledgeBaseId, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {DocumentColumns} FROM kb_documents WHERE tenant_id = $tenant AND kb_id = $kb ORDER BY created_at, rowid";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$kb", knowledgeBaseId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var documents = new List<KnowledgeDocument>();
        while (await reader.ReadAsync(cancellationToken)) documents.Add(ReadDocument(reader));
        return documents;
    }

    public async Task<KnowledgeDocument?> FindDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {DocumentColumns} FROM kb_documents WHERE tenant_id = $tenant AND kb_id = $kb AND id = $id";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$kb", knowledgeBaseId);
        command.Parameters.AddWithValue("$id", documentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadDocument(reader) : null;
    }

    public async Task<bool> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM kb_documents WHERE tenant_id = $tenant AND kb_id = $kb AND id = $id";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$kb", knowledgeBaseId);
        command.Parameters.AddWithValue("$id", documentId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<KnowledgeDocument?> StartJobAsync(string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE kb_documents SET status = 'processing', attempts = attempts + 1, progress = 0, stage = 'starting', error = NULL, updated_at = $now
            WHERE tenant_id = $tenant AND id = $id AND status IN ('queued', 'processing')
            RETURNING {DocumentColumns}
            """;
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$id", documentId);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeSeconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadDocument(reader) : null;
    }

    public Task ReportProgressAsync(string documentId, double progress, string stage, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "progress = $progress, stage = $stage",
            [("$progress", Math.Clamp(progress, 0, 1)), ("$stage", stage)], cancellationToken);

    public Task RecordExtractionAsync(string documentId, string mediaType, int pages, int ocrPages, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "media_type = $type, pages = $pages, ocr_pages = $ocr",
            [("$type", mediaType), ("$pages", pages), ("$ocr", ocrPages)], cancellationToken);

    public Task FinishJobAsync(string documentId, DocumentStatus status, int chunkCount, string? error, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "status = $status, chunk_count = $chunks, error = $error, progress = $progress, stage = $stage",
            [
                ("$status", StatusText(status)), ("$chunks", chunkCount), ("$error", (object?)error ?? DBNull.Value),
                ("$progress", status == DocumentStatus.Ready ? 1.0 : 0.0), ("$stage", StatusText(status)),
            ], cancellationToken);

    public async Task<IReadOnlyList<PendingJob>> ListUnfinishedJobsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tenant_id, kb_id, id FROM kb_documents WHERE status IN ('queued', 'processing') ORDER BY created_at, rowid";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<PendingJob>();
        while (await reader.ReadAsync(cancellationToken)) jobs.Add(new PendingJob(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return jobs;
    }

    public Task<bool> CopyOriginalAsync(string documentId, Stream destination, CancellationToken cancellationToken = default) => Task.FromResult(false);

    private async Task UpdateAsync(string documentId, string set, (string Name, object Value)[] values, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE kb_documents SET {set}, updated_at = $now WHERE tenant_id = $tenant AND id = $id";
        command.Parameters.AddWithValue("$tenant", TenantScope.Require());
        command.Parameters.AddWithValue("$id", documentId);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeSeconds());
        foreach (var (name, value) in values) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static string StatusText(DocumentStatus status) => status switch
    {
        DocumentStatus.Queued => "queued",
        DocumentStatus.Processing => "processing",
        DocumentStatus.Ready => "ready",
        _ => "failed",
    };

    private static DocumentStatus ParseStatus(string text) => text switch
    {
        "queued" => DocumentStatus.Queued,
        "processing" => DocumentStatus.Processing,
        "ready" => DocumentStatus.Ready,
        _ => DocumentStatus.Failed,
    };

    private static KnowledgeBase ReadBase(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
        DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)), Convert.ToInt32(r.GetInt64(6)), Convert.ToInt32(r.GetInt64(7)));

    private static KnowledgeDocument ReadDocument(SqliteDataReader r) => new(
        Id: r.GetString(0),
        TenantId: r.GetString(1),
        KnowledgeBaseId: r.GetString(2),
        Name: r.GetString(3),
        OriginalPath: r.GetString(4),
        Sha256: r.GetString(5),
        Bytes: r.GetInt64(6),
        DeclaredType: r.IsDBNull(7) ? null : r.GetString(7),
        MediaType: r.IsDBNull(8) ? null : r.GetString(8),
        Pages: r.IsDBNull(9) ? null : r.GetInt32(9),
        OcrPages: r.IsDBNull(10) ? null : r.GetInt32(10),
        ChunkCount: r.GetInt32(11),
        Status: ParseStatus(r.GetString(12)),
        Progress: r.GetDouble(13),
        Stage: r.IsDBNull(14) ? null : r.GetString(14),
        Error: r.IsDBNull(15) ? null : r.GetString(15),
        Attempts: r.GetInt32(16),
        CreatedAt: DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(17)),
        UpdatedAt: DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(18)));
}
