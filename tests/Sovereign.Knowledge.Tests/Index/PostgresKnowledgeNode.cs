using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Core.Options;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Inference.Embeddings;
using Sovereign.Knowledge.Chunking;
using Sovereign.Knowledge.Extraction;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Tests.Index;

/// <summary>
/// One node's knowledge stack over a shared PostgreSQL database: its own data folder, pools and vectors in memory (or
/// pgvector, where the database has it and <see cref="KnowledgeOptions.Pgvector"/> allows), as a server builds it.
/// </summary>
internal sealed class PostgresKnowledgeNode : IDisposable
{
    public PostgresKnowledgeNode(string connectionString, EmbeddingService embeddings, TimeProvider? time = null, PgvectorMode pgvector = PgvectorMode.Auto)
    {
        Home = Directory.CreateTempSubdirectory("sov-pgknowledge-").FullName;
        Database = new PostgresDatabase(connectionString, [KnowledgeSchema.Module]);
        Options = Microsoft.Extensions.Options.Options.Create(new KnowledgeOptions { JobLease = TimeSpan.FromMinutes(1), Pgvector = pgvector });
        Store = new PostgresKnowledgeStore(Database, time ?? TimeProvider.System, Options);
        Vectors = new PostgresVectorSearch(Database, new LocalVectorPartitions(Database), Options, NullLogger<PostgresVectorSearch>.Instance);
        Index = new PostgresKnowledgeIndex(Database, Vectors);
        Originals = new OriginalStore(new SovereignPaths(Home));
        Embeddings = embeddings;
        Search = new HybridSearch(Store, Index, Embeddings);
    }

    public string Home { get; }
    public PostgresDatabase Database { get; }
    public Microsoft.Extensions.Options.IOptions<KnowledgeOptions> Options { get; }
    public PostgresKnowledgeStore Store { get; }
    public PostgresVectorSearch Vectors { get; }
    public PostgresKnowledgeIndex Index { get; }
    public OriginalStore Originals { get; }
    public EmbeddingService Embeddings { get; }
    public HybridSearch Search { get; }

    public IngestionPipeline Pipeline() =>
        new(Store, Index, new DocumentExtractor(), new StructuredChunker(new ApproximateTokenCounter()), Embeddings, Originals, Options,
            NullLogger<IngestionPipeline>.Instance);

    public async Task<KnowledgeDocument> UploadAsync(KnowledgeBase kb, string name, byte[] content)
    {
        var id = KnowledgeIds.NewDocumentId();
        using var stream = new MemoryStream(content);
        var original = await Originals.SaveAsync(TenantScope.Require(), kb.Id, id, stream, long.MaxValue, name, CancellationToken.None);
        return await Store.AddDocumentAsync(new NewDocument(id, kb.Id, name, original.Path, original.Sha256, original.Bytes, "text/plain"));
    }

    /// <summary>Runs one query and returns its first column (for checks on the schema and rows).</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public void Dispose()
    {
        Database.Dispose();
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
