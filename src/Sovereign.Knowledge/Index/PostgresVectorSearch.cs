using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Pgvector;
using Sovereign.Data;

namespace Sovereign.Knowledge.Index;

/// <summary>Where vector search over the shared database runs.</summary>
public enum VectorSearchKind
{
    /// <summary>In memory, across <see cref="IVectorPartitions"/> (one partition per node's process, or grains across a cluster).</summary>
    Partitioned,

    /// <summary>In PostgreSQL, through the pgvector extension.</summary>
    Pgvector,
}

/// <summary>
/// Vector search over <c>kb_chunks</c> in the shared database, one of two exact ways, decided once per process (at
/// start-up by <see cref="PostgresVectorSearchStartup"/>, else on first use):
/// <list type="bullet">
/// <item>pgvector, when the server offers the extension and <see cref="KnowledgeOptions.Pgvector"/> is auto: the
/// extension is created, <c>kb_chunks</c> gains an <c>embedding vector</c> column that every write fills beside the
/// float32 bytes, and a search is one query ranking by pgvector's inner product;</item>
/// <item>otherwise <see cref="IVectorPartitions"/>, in memory, as before pgvector.</item>
/// </list>
/// Both rank by the dot product of the stored (normalised) vectors with the query and give it as the score, so hybrid
/// search fuses the same numbers either way (to float rounding: pgvector sums in another order).
/// The column is not a versioned migration because it exists only where the extension does. Once it exists, every
/// node fills it on write, whatever its own setting, so nodes that search with pgvector never miss a chunk; rows that
/// still lack it (written before the extension was installed, or by a node that started before the column existed)
/// are filled from their bytes at start-up and, should one appear later, by the next search of their base.
/// Thread-safe.
/// </summary>
public sealed class PostgresVectorSearch(PostgresDatabase database, IVectorPartitions partitions, IOptions<KnowledgeOptions> options,
    ILogger<PostgresVectorSearch> logger)
{
    private const string SetupLock = "kb-pgvector-setup";
    private const int FillBatch = 500;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private Setup? _setup;

    /// <summary>How this process searches; null until decided.</summary>
    public VectorSearchKind? Kind => _setup?.Kind;

    /// <summary>Decides how to search (creating the extension and the column where pgvector is used) and logs it. Idempotent.</summary>
    public async Task<VectorSearchKind> PrepareAsync(CancellationToken cancellationToken = default) => (await SetupAsync(cancellationToken)).Kind;

    /// <summary>Whether writes must fill <c>kb_chunks.embedding</c> (the column exists).</summary>
    internal async ValueTask<bool> WritesEmbeddingsAsync(CancellationToken cancellationToken) => (await SetupAsync(cancellationToken)).WritesEmbeddings;

    /// <summary>The <paramref name="limit"/> best chunks of the base by dot product, best first (ties by key).</summary>
    public async Task<IReadOnlyList<ChunkMatch>> SearchAsync(string tenantId, string knowledgeBaseId, ReadOnlyMemory<float> query, int limit,
        IReadOnlySet<string>? documentIds, CancellationToken cancellationToken)
    {
        var setup = await SetupAsync(cancellationToken);
        if (setup.Kind == VectorSearchKind.Partitioned)
            return await partitions.SearchAsync(tenantId, knowledgeBaseId, query, limit, documentIds, cancellationToken);
        if (limit <= 0) return [];

        var (matches, unfilled) = await SearchInDatabaseAsync(tenantId, knowledgeBaseId, query, limit, documentIds, cancellationToken);
        if (!unfilled) return matches;
        // Rows without an embedding would be missing from the answer: fill them, then ask again.
        await FillAsync(tenantId, knowledgeBaseId, cancellationToken);
        return (await SearchInDatabaseAsync(tenantId, knowledgeBaseId, query, limit, documentIds, cancellationToken)).Matches;
    }

    private async Task<(IReadOnlyList<ChunkMatch> Matches, bool Unfilled)> SearchInDatabaseAsync(string tenantId, string knowledgeBaseId,
        ReadOnlyMemory<float> query, int limit, IReadOnlySet<string>? documentIds, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);

        // Answered from the partial index ix_kb_chunks_unembedded, which is empty unless something needs filling; sent in
        // the same round trip as the search.
        var check = new NpgsqlBatchCommand("SELECT EXISTS (SELECT 1 FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb AND embedding IS NULL)");
        check.Parameters.AddWithValue("t", tenantId);
        check.Parameters.AddWithValue("kb", knowledgeBaseId);
        batch.BatchCommands.Add(check);

        // Exact: every row of the base is scored (found through ix_kb_chunks_kb), as the in-memory partitions do. No HNSW
        // or IVFFlat index on purpose: they are approximate, so results would differ from the in-memory search and move
        // as the index is rebuilt, and they need one dimension per column while bases differ in embedding model.
        // <#> is the negative inner product, so ascending order is best first and its negation is the dot product.
        var filter = documentIds is null ? "" : "AND document_id = ANY(@docs)";
        var search = new NpgsqlBatchCommand($"""
            SELECT key, (-(embedding <#> @q))::REAL
            FROM kb_chunks
            WHERE tenant_id = @t AND kb_id = @kb AND embedding IS NOT NULL {filter}
            ORDER BY embedding <#> @q, key
            LIMIT @limit
            """);
        search.Parameters.AddWithValue("q", new Vector(query));
        search.Parameters.AddWithValue("t", tenantId);
        search.Parameters.AddWithValue("kb", knowledgeBaseId);
        search.Parameters.AddWithValue("limit", limit);
        if (documentIds is not null) search.Parameters.AddWithValue("docs", documentIds.ToArray());
        batch.BatchCommands.Add(search);

        try
        {
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var unfilled = reader.GetBoolean(0);
            await reader.NextResultAsync(cancellationToken);
            var matches = new List<ChunkMatch>(limit);
            while (await reader.ReadAsync(cancellationToken)) matches.Add(new ChunkMatch(reader.GetInt64(0), reader.GetFloat(1)));
            return (matches, unfilled);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DataException && e.MessageText.StartsWith("different vector dimensions", StringComparison.Ordinal))
        {
            throw VectorSet.DimensionsMismatch(query.Length, await DimensionsAsync(tenantId, knowledgeBaseId, cancellationToken) ?? 0);
        }
    }

    private async Task<int?> DimensionsAsync(string tenantId, string knowledgeBaseId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT vector_dims(embedding) FROM kb_chunks WHERE tenant_id = @t AND kb_id = @kb AND embedding IS NOT NULL LIMIT 1", connection);
        command.Parameters.AddWithValue("t", tenantId);
        command.Parameters.AddWithValue("kb", knowledgeBaseId);
        return await command.ExecuteScalarAsync(cancellationToken) as int?;
    }

    private async ValueTask<Setup> SetupAsync(CancellationToken cancellationToken)
    {
        if (_setup is { } decided) return decided;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_setup is { } again) return again;
            // Not kept when it throws (the database down, the schema not migrated yet): the next call tries again.
            var setup = await DecideAsync(cancellationToken);
            if (setup.WritesEmbeddings) await database.ReloadTypesAsync(cancellationToken);
            if (setup.Kind == VectorSearchKind.Pgvector)
            {
                var filled = await FillAsync(null, null, cancellationToken);
                if (filled > 0) logger.PgvectorFilled(filled);
                logger.VectorSearchPgvector(setup.Version!, database.Description);
            }
            else
            {
                logger.VectorSearchPartitioned(setup.Reason!);
            }
            _setup = setup;
            return setup;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<Setup> DecideAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Nodes starting together: one creates the extension and the column, the others then find them.
        await PostgresDatabase.LockAsync(connection, transaction, SetupLock, cancellationToken);

        bool migrated, available, hasColumn;
        string? version;
        await using (var command = new NpgsqlCommand("""
            SELECT to_regclass('kb_chunks') IS NOT NULL,
                   EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector'),
                   (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
                   EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('kb_chunks') AND attname = 'embedding' AND NOT attisdropped)
            """, connection, transaction))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            (migrated, available, version, hasColumn) = (reader.GetBoolean(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3));
        }
        if (!migrated)
            throw new InvalidOperationException($"The shared database {database.Description} has no knowledge tables (kb_chunks) yet; migrate it first (the server does at start-up).");

        if (options.Value.Pgvector == PgvectorMode.Off)
            return new Setup(VectorSearchKind.Partitioned, hasColumn, null, "Sovereign:Knowledge:Pgvector is off");
        if (version is null && !available)
            return new Setup(VectorSearchKind.Partitioned, false, null, $"{database.Description} does not offer the pgvector extension");

        if (version is null)
        {
            await using (var savepoint = new NpgsqlCommand("SAVEPOINT create_vector", connection, transaction))
                await savepoint.ExecuteNonQueryAsync(cancellationToken);
            try
            {
                await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS vector", connection, transaction);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e)
            {
                // Typically a role that is not a superuser: pgvector is not a trusted extension.
                logger.PgvectorCreateFailed(database.Description, e.MessageText);
                await using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT create_vector", connection, transaction);
                await rollback.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return new Setup(VectorSearchKind.Partitioned, false, null, "creating the pgvector extension failed");
            }
            await using var read = new NpgsqlCommand("SELECT extversion FROM pg_extension WHERE extname = 'vector'", connection, transaction);
            version = (string)(await read.ExecuteScalarAsync(cancellationToken))!;
        }

        if (!hasColumn)
        {
            // Untyped (no dimension): bases differ in embedding model. The partial index finds rows that need filling.
            await using var alter = new NpgsqlCommand("""
                ALTER TABLE kb_chunks ADD COLUMN embedding vector;
                CREATE INDEX ix_kb_chunks_unembedded ON kb_chunks (tenant_id, kb_id) WHERE embedding IS NULL;
                """, connection, transaction);
            await alter.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return new Setup(VectorSearchKind.Pgvector, true, version, null);
    }

    /// <summary>
    /// Gives every row of the base (or of every base) that has no embedding one from its float32 bytes, in batches of
    /// <see cref="FillBatch"/>, each its own transaction. Rows are locked in key order, so nodes filling at once take
    /// turns and never fill a row twice. Returns how many rows it filled.
    /// </summary>
    private async Task<int> FillAsync(string? tenantId, string? knowledgeBaseId, CancellationToken cancellationToken)
    {
        var scope = tenantId is null ? "" : "AND tenant_id = @t AND kb_id = @kb";
        var total = 0;
        while (true)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var rows = new List<(long Key, float[] Vector)>();
            await using (var select = new NpgsqlCommand(
                $"SELECT key, vector FROM kb_chunks WHERE embedding IS NULL {scope} ORDER BY key LIMIT {FillBatch} FOR UPDATE", connection, transaction))
            {
                if (tenantId is not null)
                {
                    select.Parameters.AddWithValue("t", tenantId);
                    select.Parameters.AddWithValue("kb", knowledgeBaseId!);
                }
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                    rows.Add((reader.GetInt64(0), MemoryMarshal.Cast<byte, float>((byte[])reader.GetValue(1)).ToArray()));
            }
            if (rows.Count == 0) return total;

            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                foreach (var (key, vector) in rows)
                {
                    var update = new NpgsqlBatchCommand("UPDATE kb_chunks SET embedding = @e WHERE key = @key");
                    update.Parameters.AddWithValue("e", new Vector(vector));
                    update.Parameters.AddWithValue("key", key);
                    batch.BatchCommands.Add(update);
                }
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            total += rows.Count;
        }
    }

    private sealed record Setup(VectorSearchKind Kind, bool WritesEmbeddings, string? Version, string? Reason);
}

/// <summary>Decides how vectors are searched when the host starts (after the schema migrations), so its log says which.</summary>
internal sealed class PostgresVectorSearchStartup(PostgresVectorSearch search) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => search.PrepareAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
