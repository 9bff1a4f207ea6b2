using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
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

namespace Sovereign.Knowledge.Tests;

/// <summary>
/// The real knowledge stack over a temporary data folder: SQLite with the knowledge schema, the store, the index, the
/// built-in MiniLM embedding model, the real extractor and chunker. Enters the default tenant for the test's thread.
/// </summary>
public sealed class KnowledgeTestBed : IDisposable
{
    private readonly IDisposable _tenant;

    public KnowledgeTestBed(KnowledgeOptions? options = null)
    {
        Home = Directory.CreateTempSubdirectory("sov-knowledge-").FullName;
        Paths = new SovereignPaths(Home);
        Database = new SqliteDatabase(Paths, [KnowledgeSchema.Module]);
        Database.Migrate();
        Options = Microsoft.Extensions.Options.Options.Create(options ?? new KnowledgeOptions());
        Store = new SqliteKnowledgeStore(Database, TimeProvider.System);
        Index = new SqliteKnowledgeIndex(Database);
        Embeddings = new EmbeddingService(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions()));
        Originals = new OriginalStore(Paths);
        Search = new HybridSearch(Store, Index, Embeddings);
        _tenant = TenantScope.Enter(TenantScope.DefaultTenant);
    }

    public string Home { get; }
    public SovereignPaths Paths { get; }
    public SqliteDatabase Database { get; }
    public IOptions<KnowledgeOptions> Options { get; }
    internal SqliteKnowledgeStore Store { get; }
    internal SqliteKnowledgeIndex Index { get; }
    public EmbeddingService Embeddings { get; }
    public OriginalStore Originals { get; }
    public HybridSearch Search { get; }

    public IngestionPipeline Pipeline(Core.Embeddings.IEmbeddingService? embeddings = null) =>
        new(Store, Index, new DocumentExtractor(), new StructuredChunker(new ApproximateTokenCounter()), embeddings ?? Embeddings, Originals, Options,
            NullLogger<IngestionPipeline>.Instance);

    /// <summary>Stores <paramref name="content"/> as an uploaded original and records the document (queued).</summary>
    public async Task<KnowledgeDocument> AddDocumentAsync(KnowledgeBase kb, string name, byte[] content)
    {
        var id = KnowledgeIds.NewDocumentId();
        using var stream = new MemoryStream(content);
        var original = await Originals.SaveAsync(TenantScope.Require(), kb.Id, id, stream, long.MaxValue, name, CancellationToken.None);
        return await Store.AddDocumentAsync(new NewDocument(id, kb.Id, name, original.Path, original.Sha256, original.Bytes, "text/plain"));
    }

    public void Dispose()
    {
        _tenant.Dispose();
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
