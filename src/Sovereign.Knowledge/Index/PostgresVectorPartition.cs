using System.Collections.Concurrent;
using System.Data;
using System.Runtime.InteropServices;
using Npgsql;
using Sovereign.Data;

namespace Sovereign.Knowledge.Index;

/// <summary>
/// Exact vector search over a knowledge base whose vectors live in PostgreSQL (<see cref="PostgresKnowledgeIndex"/>).
/// The single-node implementation is <see cref="LocalVectorPartitions"/>; a cluster spreads each base over several
/// partitions on several nodes and merges their results.
/// </summary>
public interface IVectorPartitions
{
    /// <summary>The <paramref name="limit"/> best chunks of the base by dot product, best first.</summary>
    Task<IReadOnlyList<ChunkMatch>> SearchAsync(string tenantId, string knowledgeBaseId, ReadOnlyMemory<float> query, int limit,
        IReadOnlySet<string>? documentIds, CancellationToken cancellationToken);
}

/// <summary>Merges the best of each partition into the best overall: exact, since each partition's best are exact.</summary>
public static class PartitionResults
{
    public static IReadOnlyList<ChunkMatch> Merge(IEnumerable<IReadOnlyList<ChunkMatch>> partitions, int limit) =>
        [.. partitions.SelectMany(p => p).OrderByDescending(m => m.Score).ThenBy(m => m.Key).Take(limit)];
}

/// <summary>
/// One partition of a knowledge base's vectors (the chunks whose key modulo <c>partitions</c> is <c>partition</c>),
/// held in memory as a <see cref="VectorSet"/> and kept in step with the database without messages from writers:
/// before each search it reads what <c>kb_index_changes</c> gained since it last looked and reloads only the documents
/// named there (a whole-base change reloads all). Writers to one base take an advisory lock, so the change numbers a
/// reader sees are always a complete prefix. Thread-safe; a refresh and its search are serialised per partition.
/// </summary>
public sealed class PostgresVectorPartition(PostgresDatabase database, string tenantId, string knowledgeBaseId, int partition, int partitions)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private VectorSet _set = new();
    private long _seen = -1;

    /// <summary>Vectors this partition holds now (for tests and status).</summary>
    public int Count => _set.Count;

    public async Task<IReadOnlyList<ChunkMatch>> SearchAsync(ReadOnlyMemory<float> query, int limit, IReadOnlySet<string>? documentIds,
        CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await RefreshAsync(cancellationToken);
            return _set.Search(query.Span, limit, documentIds);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // One snapshot for the change numbers and the rows, so the set is exactly the state as of the last change read.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        if (_seen >= 0)
        {
            var changed = new HashSet<string>(StringComparer.Ordinal);
            var whole = false;
            var last = _seen;
            await using (var command = new NpgsqlCommand(
                "SELECT seq, document_id FROM kb_index_changes WHERE tenant_id = @t AND kb_id = @kb AND seq > @seen ORDER BY seq", connection, transaction))
            {
                command.Parameters.AddWithValue("t", tenantId);
                command.Parameters.AddWithValue("kb", knowledgeBaseId);
                command.Parameters.AddWithValue("seen", _seen);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    last = reader.GetInt64(0);
                    if (reader.IsDBNull(1)) whole = true;
                    else changed.Add(reader.GetString(1));
                }
            }
            if (last == _seen) return;
            if (!whole && changed.Count <= 256)
            {
                var rows = await ReadVectorsAsync(connection, transaction, [.. changed], cancellationToken);
                foreach (var document in changed) _set.RemoveDocument(document);
                _set.AddRange(rows);
                _seen = last;
                return;
            }
        }

        // First use, a whole-base change, or too many documents changed to patch: load the partition again.
        long latest;
        await using (var command = new NpgsqlCommand(
            "SELECT COALESCE(MAX(seq), 0) FROM kb_index_changes WHERE tenant_id = @t AND kb_id = @kb", connection, transaction))
        {
            command.Parameters.AddWithValue("t", tenantId);
            command.Parameters.AddWithValue("kb", knowledgeBaseId);
            latest = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        var set = new VectorSet();
        set.AddRange(await ReadVectorsAsync(connection, transaction, null, cancellationToken));
        _set = set;
        _seen = latest;
    }

    private async Task<List<(long Key, string DocumentId, float[] Vector)>> ReadVectorsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        string[]? documents, CancellationToken cancellationToken)
    {
        var filter = documents is null ? "" : " AND document_id = ANY(@docs)";
        await using var command = new NpgsqlCommand(
            $"SELECT key, document_id, vector FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb AND key % @n = @p{filter} ORDER BY key", connection, transaction);
        command.Parameters.AddWithValue("t", tenantId);
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        command.Parameters.AddWithValue("n", (long)partitions);
        command.Parameters.AddWithValue("p", (long)partition);
        if (documents is not null) command.Parameters.AddWithValue("docs", documents);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(long, string, float[])>();
        while (await reader.ReadAsync(cancellationToken))
            rows.Add((reader.GetInt64(0), reader.GetString(1), MemoryMarshal.Cast<byte, float>((byte[])reader.GetValue(2)).ToArray()));
        return rows;
    }
}

/// <summary>
/// Vector search without a cluster: each base is one partition in this process. Several nodes may share the database
/// this way (each keeps its own copy in step through the change log). Thread-safe.
/// </summary>
internal sealed class LocalVectorPartitions(PostgresDatabase database) : IVectorPartitions
{
    private readonly ConcurrentDictionary<(string Tenant, string Kb), PostgresVectorPartition> _partitions = new();

    public Task<IReadOnlyList<ChunkMatch>> SearchAsync(string tenantId, string knowledgeBaseId, ReadOnlyMemory<float> query, int limit,
        IReadOnlySet<string>? documentIds, CancellationToken cancellationToken) =>
        _partitions.GetOrAdd((tenantId, knowledgeBaseId), key => new PostgresVectorPartition(database, key.Tenant, key.Kb, 0, 1))
            .SearchAsync(query, limit, documentIds, cancellationToken);
}
