using System.Data;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Knowledge.Storage;

/// <summary>
/// Knowledge bases and documents in the cluster's PostgreSQL, so every node sees every base and any node can run any
/// document's job. Two things differ from <see cref="SqliteKnowledgeStore"/>:
/// <list type="bullet">
/// <item>The original is kept in the database (<c>kb_originals</c>), written in the transaction that accepts the
/// document, so a node that did not receive the upload can still ingest it (<see cref="OpenOriginalAsync"/>).</item>
/// <item>A job is claimed for a lease (<see cref="KnowledgeOptions.JobLease"/>), renewed by each progress report: a
/// node never starts a job another node is running, and a job whose node died is taken up once its lease runs out.</item>
/// </list>
/// Thread-safe (a pooled connection per call).
/// </summary>
internal sealed class PostgresKnowledgeStore(PostgresDatabase database, TimeProvider time, IOptions<KnowledgeOptions> options) : IKnowledgeStore
{
    // One claimant name per process: a restarted node does not take its old leases back early (they run out instead).
    private static readonly string Claimant = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    private const string BaseColumns = """
        b.id, b.tenant_id, b.name, b.description, b.embedding_model, b.created_at,
        (SELECT COUNT(*) FROM kb_documents d WHERE d.kb_id = b.id)::INTEGER,
        (SELECT COALESCE(SUM(d.chunk_count), 0) FROM kb_documents d WHERE d.kb_id = b.id)::INTEGER
        """;

    private const string DocumentColumns = """
        id, tenant_id, kb_id, name, original_path, sha256, bytes, declared_type, media_type, pages, ocr_pages, chunk_count,
        status, progress, stage, error, attempts, created_at, updated_at
        """;

    public async Task<KnowledgeBase> CreateBaseAsync(string name, string? description, string embeddingModel, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var id = KnowledgeIds.NewBaseId();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO knowledge_bases (id, tenant_id, name, description, embedding_model, created_at)
            VALUES (@id, @tenant, @name, @description, @model, @now)
            """, connection);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("tenant", tenant);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.Add(PostgresValues.Text("description", description));
        command.Parameters.AddWithValue("model", embeddingModel);
        command.Parameters.AddWithValue("now", now);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new SovereignException(ErrorKind.Conflict, $"A knowledge base named '{name}' already exists.", "name", "knowledge_base_exists");
        }
        return new KnowledgeBase(id, tenant, name, description, embeddingModel, DateTimeOffset.FromUnixTimeSeconds(now), 0, 0);
    }

    public async Task<IReadOnlyList<KnowledgeBase>> ListBasesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT {BaseColumns} FROM knowledge_bases b WHERE b.tenant_id = @tenant ORDER BY b.created_at, b.name COLLATE \"C\"", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var bases = new List<KnowledgeBase>();
        while (await reader.ReadAsync(cancellationToken)) bases.Add(ReadBase(reader));
        return bases;
    }

    public async Task<KnowledgeBase?> FindBaseAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT {BaseColumns} FROM knowledge_bases b WHERE b.tenant_id = @tenant AND (b.id = @key OR b.name = @key) ORDER BY (b.id = @key) DESC LIMIT 1",
            connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("key", idOrName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadBase(reader) : null;
    }

    public async Task<bool> DeleteBaseAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM knowledge_bases WHERE tenant_id = @tenant AND id = @id", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<KnowledgeDocument> AddDocumentAsync(NewDocument document, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        KnowledgeDocument added;
        await using (var command = new NpgsqlCommand($"""
            INSERT INTO kb_documents (id, tenant_id, kb_id, name, original_path, sha256, bytes, declared_type, status, progress, stage, created_at, updated_at)
            SELECT @id, @tenant, @kb, @name, @path, @sha, @bytes, @declared, 'queued', 0, 'queued', @now, @now
            WHERE EXISTS (SELECT 1 FROM knowledge_bases WHERE id = @kb AND tenant_id = @tenant)
            RETURNING {DocumentColumns}
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("id", document.Id);
            command.Parameters.AddWithValue("tenant", tenant);
            command.Parameters.AddWithValue("kb", document.KnowledgeBaseId);
            command.Parameters.AddWithValue("name", document.Name);
            command.Parameters.AddWithValue("path", document.OriginalPath);
            command.Parameters.AddWithValue("sha", document.Sha256);
            command.Parameters.AddWithValue("bytes", document.Bytes);
            command.Parameters.Add(PostgresValues.Text("declared", document.DeclaredType));
            command.Parameters.AddWithValue("now", now);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
                throw SovereignException.NotFound($"No knowledge base with id '{document.KnowledgeBaseId}'.", code: "knowledge_base_not_found");
            added = ReadDocument(reader);
        }

        // The original goes in with the row: a document is accepted only once every node can read what was received.
        await using (var original = new FileStream(document.OriginalPath, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous))
        await using (var command = new NpgsqlCommand("INSERT INTO kb_originals (document_id, content) VALUES (@id, @content)", connection, transaction))
        {
            command.Parameters.AddWithValue("id", document.Id);
            command.Parameters.Add(new NpgsqlParameter("content", NpgsqlDbType.Bytea) { Value = original, Size = checked((int)original.Length) });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return added;
    }

    public async Task<IReadOnlyList<KnowledgeDocument>> ListDocumentsAsync(string knowledgeBaseId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT {DocumentColumns} FROM kb_documents WHERE tenant_id = @tenant AND kb_id = @kb ORDER BY created_at, seq", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var documents = new List<KnowledgeDocument>();
        while (await reader.ReadAsync(cancellationToken)) documents.Add(ReadDocument(reader));
        return documents;
    }

    public async Task<KnowledgeDocument?> FindDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT {DocumentColumns} FROM kb_documents WHERE tenant_id = @tenant AND kb_id = @kb AND id = @id", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.AddWithValue("id", documentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadDocument(reader) : null;
    }

    public async Task<bool> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM kb_documents WHERE tenant_id = @tenant AND kb_id = @kb AND id = @id", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.AddWithValue("id", documentId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<KnowledgeDocument?> StartJobAsync(string documentId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        // Only a queued job, or one whose claimant's lease ran out, is taken; null tells the caller it is not theirs to run.
        await using var command = new NpgsqlCommand($"""
            UPDATE kb_documents SET status = 'processing', attempts = attempts + 1, progress = 0, stage = 'starting', error = NULL,
                claimed_by = @claimant, lease_until = @lease, updated_at = @now
            WHERE tenant_id = @tenant AND id = @id
              AND (status = 'queued' OR (status = 'processing' AND (lease_until IS NULL OR lease_until < @now)))
            RETURNING {DocumentColumns}
            """, connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("id", documentId);
        command.Parameters.AddWithValue("claimant", Claimant);
        command.Parameters.AddWithValue("lease", now + (long)options.Value.JobLease.TotalSeconds);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadDocument(reader) : null;
    }

    public Task ReportProgressAsync(string documentId, double progress, string stage, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "progress = @progress, stage = @stage, lease_until = @lease",
            [new("progress", Math.Clamp(progress, 0, 1)), new("stage", stage), new("lease", time.GetUtcNow().ToUnixTimeSeconds() + (long)options.Value.JobLease.TotalSeconds)],
            cancellationToken);

    public Task RecordExtractionAsync(string documentId, string mediaType, int pages, int ocrPages, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "media_type = @type, pages = @pages, ocr_pages = @ocr",
            [new("type", mediaType), new("pages", pages), new("ocr", ocrPages)], cancellationToken);

    public Task FinishJobAsync(string documentId, DocumentStatus status, int chunkCount, string? error, CancellationToken cancellationToken = default) =>
        UpdateAsync(documentId, "status = @status, chunk_count = @chunks, error = @error, progress = @progress, stage = @status, claimed_by = NULL, lease_until = NULL",
            [
                new("status", SqliteKnowledgeStore.StatusText(status)), new("chunks", chunkCount), PostgresValues.Text("error", error),
                new("progress", status == DocumentStatus.Ready ? 1.0 : 0.0),
            ], cancellationToken);

    public async Task<IReadOnlyList<PendingJob>> ListUnfinishedJobsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT tenant_id, kb_id, id FROM kb_documents
            WHERE status = 'queued' OR (status = 'processing' AND (lease_until IS NULL OR lease_until < @now))
            ORDER BY created_at, seq
            """, connection);
        command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeSeconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<PendingJob>();
        while (await reader.ReadAsync(cancellationToken)) jobs.Add(new PendingJob(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return jobs;
    }

    public async Task<bool> CopyOriginalAsync(string documentId, Stream destination, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT o.content FROM kb_originals o JOIN kb_documents d ON d.id = o.document_id WHERE d.tenant_id = @tenant AND o.document_id = @id
            """, connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("id", documentId);
        // Sequential access streams the bytes instead of buffering a whole original in memory.
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return false;
        await using var content = reader.GetStream(0);
        await content.CopyToAsync(destination, cancellationToken);
        return true;
    }

    private async Task UpdateAsync(string documentId, string set, NpgsqlParameter[] values, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"UPDATE kb_documents SET {set}, updated_at = @now WHERE tenant_id = @tenant AND id = @id", connection);
        command.Parameters.AddWithValue("tenant", TenantScope.Require());
        command.Parameters.AddWithValue("id", documentId);
        command.Parameters.AddWithValue("now", time.GetUtcNow().ToUnixTimeSeconds());
        command.Parameters.AddRange(values);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DocumentStatus ParseStatus(string text) => text switch
    {
        "queued" => DocumentStatus.Queued,
        "processing" => DocumentStatus.Processing,
        "ready" => DocumentStatus.Ready,
        _ => DocumentStatus.Failed,
    };

    private static KnowledgeBase ReadBase(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
        DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)), r.GetInt32(6), r.GetInt32(7));

    private static KnowledgeDocument ReadDocument(NpgsqlDataReader r) => new(
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
