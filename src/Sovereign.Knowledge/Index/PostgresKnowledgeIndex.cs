using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// The index in the cluster's PostgreSQL: one <c>kb_chunks</c> row per chunk with its text, a <c>tsvector</c> of its
/// words (GIN-indexed) and its vector as float32 bytes. Full-text search is PostgreSQL's (<c>ts_rank</c> with length
/// normalisation, the text weighted above the headings), not SQLite's BM25, so scores differ between the two, while the
/// words that match are the same: both sides use <see cref="FullTextQuery"/>'s words. Vector search is exact, through
/// <see cref="PostgresVectorSearch"/>: in the database with pgvector where the server has it (each row then also
/// carries its vector as a pgvector <c>embedding</c>), else in memory through <see cref="IVectorPartitions"/>.
/// Every write takes the base's advisory lock and appends to <c>kb_index_changes</c> in its transaction, which is how
/// every partition, on any node, learns what to reload. Thread-safe.
/// </summary>
internal sealed class PostgresKnowledgeIndex(PostgresDatabase database, PostgresVectorSearch vectors) : IKnowledgeIndex
{
    public async Task ReplaceDocumentAsync(string knowledgeBaseId, string documentId, IReadOnlyList<IndexedChunk> chunks, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var embeddings = await vectors.WritesEmbeddingsAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PostgresDatabase.LockAsync(connection, transaction, LockName(tenant, knowledgeBaseId), cancellationToken);

        // :: Step 1: the document must still exist (deleted while its job ran → nothing to index).
        await using (var check = new NpgsqlCommand("SELECT 1 FROM kb_documents WHERE tenant_id = @t AND kb_id = @kb AND id = @doc FOR SHARE", connection, transaction))
        {
            check.Parameters.AddWithValue("t", tenant);
            check.Parameters.AddWithValue("kb", knowledgeBaseId);
            check.Parameters.AddWithValue("doc", documentId);
            if (await check.ExecuteScalarAsync(cancellationToken) is null)
                throw SovereignException.NotFound($"The document '{documentId}' no longer exists.", code: "document_not_found");
        }

        // :: Step 2: whatever an earlier attempt left goes, so a re-run never duplicates.
        await DeleteRowsAsync(connection, transaction, tenant, knowledgeBaseId, documentId, cancellationToken);

        // :: Step 3: one row per chunk, sent as one batch. The float32 bytes are kept beside a pgvector embedding: nodes
        // searching in memory read them, and they are what an embedding is filled from.
        var (embeddingColumn, embeddingValue) = embeddings ? (", embedding", ", @embedding") : ("", "");
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var chunk in chunks)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var insert = new NpgsqlBatchCommand($"""
                    INSERT INTO kb_chunks (id, tenant_id, kb_id, document_id, ordinal, text, page, heading_path, terms, vector{embeddingColumn})
                    VALUES (@id, @t, @kb, @doc, @ordinal, @text, @page, @headings,
                            setweight(to_tsvector('simple', @words), 'A') || setweight(to_tsvector('simple', @headingWords), 'B'), @vector{embeddingValue})
                    """);
                insert.Parameters.AddWithValue("id", Storage.KnowledgeIds.ChunkId(documentId, chunk.Ordinal));
                insert.Parameters.AddWithValue("t", tenant);
                insert.Parameters.AddWithValue("kb", knowledgeBaseId);
                insert.Parameters.AddWithValue("doc", documentId);
                insert.Parameters.AddWithValue("ordinal", chunk.Ordinal);
                insert.Parameters.AddWithValue("text", chunk.Text);
                insert.Parameters.Add(PostgresValues.Int32("page", chunk.Page));
                insert.Parameters.AddWithValue("headings", JsonSerializer.Serialize(chunk.HeadingPath, KnowledgeJson.Default.IReadOnlyListString));
                insert.Parameters.AddWithValue("words", Words(chunk.Text));
                insert.Parameters.AddWithValue("headingWords", Words(string.Join(' ', chunk.HeadingPath)));
                insert.Parameters.Add(new NpgsqlParameter("vector", NpgsqlDbType.Bytea) { Value = MemoryMarshal.AsBytes(chunk.Vector.AsSpan()).ToArray() });
                if (embeddings) insert.Parameters.AddWithValue("embedding", new Pgvector.Vector(chunk.Vector));
                batch.BatchCommands.Add(insert);
            }
            if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await RecordChangeAsync(connection, transaction, tenant, knowledgeBaseId, documentId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<int> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PostgresDatabase.LockAsync(connection, transaction, LockName(tenant, knowledgeBaseId), cancellationToken);
        var removed = await DeleteRowsAsync(connection, transaction, tenant, knowledgeBaseId, documentId, cancellationToken);
        await RecordChangeAsync(connection, transaction, tenant, knowledgeBaseId, documentId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return removed;
    }

    public async Task DeleteBaseAsync(string knowledgeBaseId, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PostgresDatabase.LockAsync(connection, transaction, LockName(tenant, knowledgeBaseId), cancellationToken);
        await using (var command = new NpgsqlCommand("DELETE FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb", connection, transaction))
        {
            command.Parameters.AddWithValue("t", tenant);
            command.Parameters.AddWithValue("kb", knowledgeBaseId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        // A change without a document: every partition of the base reloads (and finds it empty).
        await RecordChangeAsync(connection, transaction, tenant, knowledgeBaseId, null, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ChunkMatch>> FullTextSearchAsync(string knowledgeBaseId, string query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var terms = FullTextQuery.Terms(query);
        if (terms.Count == 0 || limit <= 0) return [];

        await using var connection = await database.OpenAsync(cancellationToken);
        var filter = documentIds is null ? "" : "AND document_id = ANY(@docs)";
        // Normalisation 1 divides by 1 + log(length), so a long chunk does not win by length alone; weights D, C, B, A.
        await using var command = new NpgsqlCommand($"""
            SELECT key, ts_rank(ARRAY[0.1, 0.2, 0.5, 1.0]::REAL[], terms, q, 1) AS score
            FROM kb_chunks, to_tsquery('simple', @q) AS q
            WHERE tenant_id = @t AND kb_id = @kb AND terms @@ q {filter}
            ORDER BY score DESC, key
            LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("q", string.Join(" | ", terms.Select(t => "'" + t + "'")));
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.AddWithValue("limit", limit);
        if (documentIds is not null) command.Parameters.AddWithValue("docs", documentIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var matches = new List<ChunkMatch>();
        while (await reader.ReadAsync(cancellationToken)) matches.Add(new ChunkMatch(reader.GetInt64(0), reader.GetFloat(1)));
        return matches;
    }

    public Task<IReadOnlyList<ChunkMatch>> VectorSearchAsync(string knowledgeBaseId, ReadOnlyMemory<float> query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default) =>
        vectors.SearchAsync(TenantScope.Require(), knowledgeBaseId, query, limit, documentIds, cancellationToken);

    public async Task<IReadOnlyList<StoredChunk>> GetChunksAsync(IReadOnlyList<long> keys, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        if (keys.Count == 0) return [];
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT c.key, c.id, c.kb_id, c.document_id, d.name, c.ordinal, c.text, c.page, c.heading_path
            FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id
            WHERE c.tenant_id = @t AND c.key = ANY(@keys)
            """, connection);
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("keys", keys.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new Dictionary<long, StoredChunk>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var headings = JsonSerializer.Deserialize(reader.GetString(8), KnowledgeJson.Default.IReadOnlyListString) ?? [];
            found[reader.GetInt64(0)] = new StoredChunk(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt32(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetInt32(7), headings);
        }
        return [.. keys.Where(found.ContainsKey).Select(k => found[k])];
    }

    public async Task<IndexCounts> CountAsync(string knowledgeBaseId, string? documentId = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT COUNT(*)::INTEGER FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb AND (@doc::TEXT IS NULL OR document_id = @doc)", connection);
        command.Parameters.AddWithValue("t", TenantScope.Require());
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.Add(PostgresValues.Text("doc", documentId));
        var chunks = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        // Text, vector and full-text terms are one row here: the three counts cannot drift apart.
        return new IndexCounts(chunks, chunks, chunks);
    }

    private static string LockName(string tenant, string knowledgeBaseId) => $"kb-index:{tenant}:{knowledgeBaseId}";

    /// <summary>The words <see cref="FullTextQuery"/> would find, lowercased, so both sides of a match tokenise alike.</summary>
    private static string Words(string text)
    {
        var words = new StringBuilder(text.Length);
        foreach (var word in FullTextQuery.Words(text))
        {
            if (words.Length > 0) words.Append(' ');
            words.Append(word);
        }
        return words.ToString();
    }

    private static async Task<int> DeleteRowsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, string knowledgeBaseId, string documentId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("DELETE FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb AND document_id = @doc", connection, transaction);
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.AddWithValue("doc", documentId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task RecordChangeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, string knowledgeBaseId, string? documentId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("INSERT INTO kb_index_changes (tenant_id, kb_id, document_id) VALUES (@t, @kb, @doc)", connection, transaction);
        command.Parameters.AddWithValue("t", tenant);
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.Add(PostgresValues.Text("doc", documentId));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
