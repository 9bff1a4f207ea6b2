using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Data;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// The embedded index: chunks in <c>kb_chunks</c>, vectors as float32 blobs in <c>kb_vectors</c>, full text in the FTS5
/// table <c>kb_fts</c>, all in the node's SQLite database. Vector search is exact, over a <see cref="VectorSet"/> per
/// knowledge base that is loaded on its first search and kept in step with every write after that.
/// Thread-safe. A write holds its knowledge base's gate through commit and the in-memory update, and a load holds it
/// while it reads, so the set in memory is always the committed rows, never one write twice or none.
/// </summary>
internal sealed class SqliteKnowledgeIndex(SqliteDatabase database) : IKnowledgeIndex
{
    private readonly ConcurrentDictionary<(string Tenant, string Kb), Entry> _sets = new();

    public Task ReplaceDocumentAsync(string knowledgeBaseId, string documentId, IReadOnlyList<IndexedChunk> chunks, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var entry = EntryFor(tenant, knowledgeBaseId);
        lock (entry.Gate)
        {
            var added = new List<(long Key, string DocumentId, float[] Vector)>(chunks.Count);
            using (var connection = database.Open())
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                // :: Step 1: the document must still exist (deleted while its job ran → nothing to index).
                using (var check = Command(connection, transaction, "SELECT 1 FROM kb_documents WHERE tenant_id = $tenant AND kb_id = $kb AND id = $doc",
                           ("$tenant", tenant), ("$kb", knowledgeBaseId), ("$doc", documentId)))
                {
                    if (check.ExecuteScalar() is null)
                        throw SovereignException.NotFound($"The document '{documentId}' no longer exists.", code: "document_not_found");
                }

                // :: Step 2: whatever an earlier attempt left goes, so a re-run never duplicates.
                DeleteDocumentRows(connection, transaction, tenant, knowledgeBaseId, documentId);

                // :: Step 3: chunk, vector and full-text row per chunk.
                using var insertChunk = Command(connection, transaction, """
                    INSERT INTO kb_chunks (id, tenant_id, kb_id, document_id, ordinal, text, page, heading_path)
                    VALUES ($id, $tenant, $kb, $doc, $ordinal, $text, $page, $headings) RETURNING key
                    """, ("$tenant", tenant), ("$kb", knowledgeBaseId), ("$doc", documentId));
                var pId = insertChunk.Parameters.Add("$id", SqliteType.Text);
                var pOrdinal = insertChunk.Parameters.Add("$ordinal", SqliteType.Integer);
                var pText = insertChunk.Parameters.Add("$text", SqliteType.Text);
                var pPage = insertChunk.Parameters.Add("$page", SqliteType.Integer);
                var pHeadings = insertChunk.Parameters.Add("$headings", SqliteType.Text);

                using var insertVector = Command(connection, transaction,
                    "INSERT INTO kb_vectors (chunk_key, tenant_id, kb_id, document_id, vector) VALUES ($key, $tenant, $kb, $doc, $vector)",
                    ("$tenant", tenant), ("$kb", knowledgeBaseId), ("$doc", documentId));
                var pVectorKey = insertVector.Parameters.Add("$key", SqliteType.Integer);
                var pVector = insertVector.Parameters.Add("$vector", SqliteType.Blob);

                using var insertText = Command(connection, transaction, "INSERT INTO kb_fts (rowid, text, headings) VALUES ($key, $text, $headings)");
                var pTextKey = insertText.Parameters.Add("$key", SqliteType.Integer);
                var pFtsText = insertText.Parameters.Add("$text", SqliteType.Text);
                var pFtsHeadings = insertText.Parameters.Add("$headings", SqliteType.Text);

                foreach (var chunk in chunks)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    pId.Value = Storage.KnowledgeIds.ChunkId(documentId, chunk.Ordinal);
                    pOrdinal.Value = chunk.Ordinal;
                    pText.Value = chunk.Text;
                    pPage.Value = (object?)chunk.Page ?? DBNull.Value;
                    pHeadings.Value = JsonSerializer.Serialize(chunk.HeadingPath, KnowledgeJson.Default.IReadOnlyListString);
                    var key = (long)insertChunk.ExecuteScalar()!;

                    pVectorKey.Value = key;
                    pVector.Value = MemoryMarshal.AsBytes(chunk.Vector.AsSpan()).ToArray();
                    insertVector.ExecuteNonQuery();

                    pTextKey.Value = key;
                    pFtsText.Value = chunk.Text;
                    pFtsHeadings.Value = string.Join(" / ", chunk.HeadingPath);
                    insertText.ExecuteNonQuery();

                    added.Add((key, documentId, chunk.Vector));
                }
                transaction.Commit();
            }

            // :: Step 4: the set in memory follows the commit (when it has been loaded at all).
            if (entry.Set is { } set)
            {
                set.RemoveDocument(documentId);
                set.AddRange(added);
            }
        }
        return Task.CompletedTask;
    }

    public Task<int> DeleteDocumentAsync(string knowledgeBaseId, string documentId, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var entry = EntryFor(tenant, knowledgeBaseId);
        lock (entry.Gate)
        {
            int removed;
            using (var connection = database.Open())
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                removed = DeleteDocumentRows(connection, transaction, tenant, knowledgeBaseId, documentId);
                transaction.Commit();
            }
            entry.Set?.RemoveDocument(documentId);
            return Task.FromResult(removed);
        }
    }

    public Task DeleteBaseAsync(string knowledgeBaseId, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var entry = EntryFor(tenant, knowledgeBaseId);
        lock (entry.Gate)
        {
            using (var connection = database.Open())
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                (string, object)[] scope = [("$tenant", tenant), ("$kb", knowledgeBaseId)];
                Execute(connection, transaction, "DELETE FROM kb_fts WHERE rowid IN (SELECT key FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb)", scope);
                Execute(connection, transaction, "DELETE FROM kb_vectors WHERE tenant_id = $tenant AND kb_id = $kb", scope);
                Execute(connection, transaction, "DELETE FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb", scope);
                transaction.Commit();
            }
            _sets.TryRemove((tenant, knowledgeBaseId), out _);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ChunkMatch>> FullTextSearchAsync(string knowledgeBaseId, string query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var match = FullTextQuery.From(query);
        if (match is null || limit <= 0) return Task.FromResult<IReadOnlyList<ChunkMatch>>([]);

        using var connection = database.Open();
        using var command = connection.CreateCommand();
        // bm25() is lower-is-better; negated so every score in the index is higher-is-better. The document filter is
        // applied before LIMIT so a filtered search still returns up to `limit` passages.
        var filter = documentIds is null ? "" : "AND c.document_id IN (SELECT value FROM json_each($docs))";
        command.CommandText = $"""
            SELECT c.key, -bm25(kb_fts, 1.0, 0.5) AS score
            FROM kb_fts JOIN kb_chunks c ON c.key = kb_fts.rowid
            WHERE kb_fts MATCH $match AND c.tenant_id = $tenant AND c.kb_id = $kb {filter}
            ORDER BY bm25(kb_fts, 1.0, 0.5)
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$match", match);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$kb", knowledgeBaseId);
        command.Parameters.AddWithValue("$limit", limit);
        if (documentIds is not null) command.Parameters.AddWithValue("$docs", JsonSerializer.Serialize(documentIds.ToArray(), KnowledgeJson.Default.StringArray));
        using var reader = command.ExecuteReader();
        var matches = new List<ChunkMatch>();
        while (reader.Read()) matches.Add(new ChunkMatch(reader.GetInt64(0), reader.GetDouble(1)));
        return Task.FromResult<IReadOnlyList<ChunkMatch>>(matches);
    }

    public Task<IReadOnlyList<ChunkMatch>> VectorSearchAsync(string knowledgeBaseId, ReadOnlyMemory<float> query, int limit, IReadOnlySet<string>? documentIds = null,
        CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        var set = Loaded(tenant, knowledgeBaseId);
        return Task.FromResult(set.Search(query.Span, limit, documentIds));
    }

    public Task<IReadOnlyList<StoredChunk>> GetChunksAsync(IReadOnlyList<long> keys, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        if (keys.Count == 0) return Task.FromResult<IReadOnlyList<StoredChunk>>([]);
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT c.key, c.id, c.kb_id, c.document_id, d.name, c.ordinal, c.text, c.page, c.heading_path
            FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id
            WHERE c.tenant_id = $tenant AND c.key IN (SELECT value FROM json_each($keys))
            """;
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$keys", JsonSerializer.Serialize(keys.ToArray(), KnowledgeJson.Default.Int64Array));
        using var reader = command.ExecuteReader();
        var found = new Dictionary<long, StoredChunk>();
        while (reader.Read())
        {
            var headings = JsonSerializer.Deserialize(reader.GetString(8), KnowledgeJson.Default.IReadOnlyListString) ?? [];
            found[reader.GetInt64(0)] = new StoredChunk(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt32(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetInt32(7), headings);
        }
        return Task.FromResult<IReadOnlyList<StoredChunk>>([.. keys.Where(found.ContainsKey).Select(k => found[k])]);
    }

    public Task<IndexCounts> CountAsync(string knowledgeBaseId, string? documentId = null, CancellationToken cancellationToken = default)
    {
        var tenant = TenantScope.Require();
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT
              (SELECT COUNT(*) FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb AND ($doc IS NULL OR document_id = $doc)),
              (SELECT COUNT(*) FROM kb_vectors WHERE tenant_id = $tenant AND kb_id = $kb AND ($doc IS NULL OR document_id = $doc)),
              (SELECT COUNT(*) FROM kb_fts WHERE rowid IN (SELECT key FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb AND ($doc IS NULL OR document_id = $doc)))
            """;
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$kb", knowledgeBaseId);
        command.Parameters.AddWithValue("$doc", (object?)documentId ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        reader.Read();
        return Task.FromResult(new IndexCounts(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2)));
    }

    /// <summary>How many full-text rows exist in all (for tests that check nothing is left behind).</summary>
    internal int CountAllFullTextRows()
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM kb_fts";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private Entry EntryFor(string tenant, string knowledgeBaseId) => _sets.GetOrAdd((tenant, knowledgeBaseId), _ => new Entry());

    private VectorSet Loaded(string tenant, string knowledgeBaseId)
    {
        var entry = EntryFor(tenant, knowledgeBaseId);
        if (entry.Set is { } ready) return ready;
        lock (entry.Gate)
        {
            if (entry.Set is { } raced) return raced;
            var set = new VectorSet();
            using var connection = database.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT chunk_key, document_id, vector FROM kb_vectors WHERE tenant_id = $tenant AND kb_id = $kb ORDER BY chunk_key";
            command.Parameters.AddWithValue("$tenant", tenant);
            command.Parameters.AddWithValue("$kb", knowledgeBaseId);
            using var reader = command.ExecuteReader();
            var rows = new List<(long, string, float[])>();
            while (reader.Read())
            {
                var bytes = (byte[])reader.GetValue(2);
                rows.Add((reader.GetInt64(0), reader.GetString(1), MemoryMarshal.Cast<byte, float>(bytes).ToArray()));
            }
            set.AddRange(rows);
            entry.Set = set;
            return set;
        }
    }

    private static int DeleteDocumentRows(SqliteConnection connection, SqliteTransaction transaction, string tenant, string knowledgeBaseId, string documentId)
    {
        (string, object)[] scope = [("$tenant", tenant), ("$kb", knowledgeBaseId), ("$doc", documentId)];
        Execute(connection, transaction, "DELETE FROM kb_fts WHERE rowid IN (SELECT key FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb AND document_id = $doc)", scope);
        Execute(connection, transaction, "DELETE FROM kb_vectors WHERE tenant_id = $tenant AND kb_id = $kb AND document_id = $doc", scope);
        return Execute(connection, transaction, "DELETE FROM kb_chunks WHERE tenant_id = $tenant AND kb_id = $kb AND document_id = $doc", scope);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    private static int Execute(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    private sealed class Entry
    {
        public object Gate { get; } = new();
        public volatile VectorSet? Set;
    }
}

/// <summary>Source-generated JSON for what the index stores as JSON.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long[]))]
internal sealed partial class KnowledgeJson : System.Text.Json.Serialization.JsonSerializerContext;
