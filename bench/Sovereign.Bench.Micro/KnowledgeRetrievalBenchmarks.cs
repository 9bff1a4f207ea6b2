using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sovereign.Core.Options;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Inference.Embeddings;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Chunking;
using Sovereign.Knowledge.Extraction;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Bench.Micro;

/// <summary>
/// Retrieval over the embedded index at 10,000 and 100,000 chunks of 384 dimensions (all-minilm's): exact vector search,
/// BM25 full-text search, and both fused (the query's embedding is measured apart, in <see cref="EmbedQuery"/>).
/// Percentiles (P50, P95) are in the table. Vectors are random unit vectors and texts random words from a fixed
/// vocabulary: the cost of a search depends on the sizes, not on the meaning.
///   dotnet run -c Release --project bench/Sovereign.Bench.Micro -- --filter '*KnowledgeRetrieval*' --job short
/// </summary>
[Config(typeof(PercentileConfig))]
public class KnowledgeRetrievalBenchmarks
{
    private const int Dimensions = 384;
    private const int ChunksPerDocument = 1_000;

    private string _home = null!;
    private SqliteDatabase _database = null!;
    private IKnowledgeIndex _index = null!;
    private EmbeddingService _embeddings = null!;
    private string _kb = null!;
    private float[] _query = null!;
    private IDisposable _tenant = null!;

    [Params(10_000, 100_000)]
    public int Chunks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tenant = TenantScope.Enter(TenantScope.DefaultTenant);
        _home = Directory.CreateTempSubdirectory("sov-bench-kb-").FullName;
        _database = new SqliteDatabase(new SovereignPaths(_home), [KnowledgeSchema.Module]);
        _database.Migrate();
        var store = new SqliteKnowledgeStore(_database, TimeProvider.System);
        _index = new SqliteKnowledgeIndex(_database);
        _embeddings = new EmbeddingService(Options.Create(new EmbeddingOptions()));
        var kb = store.CreateBaseAsync("bench", null, "all-minilm").GetAwaiter().GetResult();
        _kb = kb.Id;

        var random = new Random(42);
        var words = Enumerable.Range(0, 5_000).Select(i => $"w{i:x}").ToArray();
        for (var d = 0; d < Chunks / ChunksPerDocument; d++)
        {
            var doc = store.AddDocumentAsync(new NewDocument(KnowledgeIds.NewDocumentId(), kb.Id, $"doc{d}", "/dev/null", "", 0, null)).GetAwaiter().GetResult();
            var chunks = new List<IndexedChunk>(ChunksPerDocument);
            for (var c = 0; c < ChunksPerDocument; c++)
            {
                var text = string.Join(' ', Enumerable.Range(0, 120).Select(_ => words[(int)Math.Min(words.Length - 1, random.NextDouble() * random.NextDouble() * words.Length)]));
                chunks.Add(new IndexedChunk(c, text, 1, [], Unit(random)));
            }
            _index.ReplaceDocumentAsync(kb.Id, doc.Id, chunks).GetAwaiter().GetResult();
        }
        _query = Unit(random);
        _index.VectorSearchAsync(_kb, _query, 20).GetAwaiter().GetResult(); // loads the set into memory
        _embeddings.EmbedAsync(null, ["warm up"]).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _database.Dispose();
        _tenant.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    [Benchmark]
    public int VectorSearch() => _index.VectorSearchAsync(_kb, _query, 20).GetAwaiter().GetResult().Count;

    [Benchmark]
    public int FullTextSearch() => _index.FullTextSearchAsync(_kb, "w1a w2b3 w7 w400", 20).GetAwaiter().GetResult().Count;

    [Benchmark]
    public int HybridFused()
    {
        var text = _index.FullTextSearchAsync(_kb, "w1a w2b3 w7 w400", 20).GetAwaiter().GetResult();
        var vector = _index.VectorSearchAsync(_kb, _query, 20).GetAwaiter().GetResult();
        var fused = ReciprocalRankFusion.Fuse([text, vector], 5);
        return _index.GetChunksAsync([.. fused.Select(f => f.Key)]).GetAwaiter().GetResult().Count;
    }

    [Benchmark]
    public int EmbedQuery() => _embeddings.EmbedAsync(null, ["Where do night shift workers park their cars?"]).GetAwaiter().GetResult().Dimensions;

    private static float[] Unit(Random random)
    {
        var v = new float[Dimensions];
        for (var i = 0; i < v.Length; i++) v[i] = (float)((random.NextDouble() * 2) - 1);
        System.Numerics.Tensors.TensorPrimitives.Divide(v, System.Numerics.Tensors.TensorPrimitives.Norm(v), v);
        return v;
    }

    private sealed class PercentileConfig : ManualConfig
    {
        public PercentileConfig() => AddColumn(StatisticColumn.P50, StatisticColumn.P95);
    }
}

/// <summary>
/// Ingestion throughput: 20 pages of plain text (about 1,500 characters each), extracted, chunked, embedded with all-minilm and indexed,
/// end to end through the ingestion pipeline. Pages per second = 20 / the mean.
/// </summary>
public class KnowledgeIngestionBenchmarks
{
    private const int Pages = 20;
    private string _home = null!;
    private SqliteDatabase _database = null!;
    private SqliteKnowledgeStore _store = null!;
    private IngestionPipeline _pipeline = null!;
    private OriginalStore _originals = null!;
    private KnowledgeBase _kb = null!;
    private byte[] _text = null!;
    private IDisposable _tenant = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tenant = TenantScope.Enter(TenantScope.DefaultTenant);
        _home = Directory.CreateTempSubdirectory("sov-bench-ingest-").FullName;
        var paths = new SovereignPaths(_home);
        _database = new SqliteDatabase(paths, [KnowledgeSchema.Module]);
        _database.Migrate();
        _store = new SqliteKnowledgeStore(_database, TimeProvider.System);
        var index = new SqliteKnowledgeIndex(_database);
        var embeddings = new EmbeddingService(Options.Create(new EmbeddingOptions()));
        _originals = new OriginalStore(paths);
        _pipeline = new IngestionPipeline(_store, index, new DocumentExtractor(), new StructuredChunker(new ApproximateTokenCounter()), embeddings,
            _originals, Options.Create(new KnowledgeOptions()), NullLogger<IngestionPipeline>.Instance);
        _kb = _store.CreateBaseAsync("bench", null, "all-minilm").GetAwaiter().GetResult();
        // Plain text has no pages; each block of ten paragraphs stands for one, which is what the figure counts.
        var page = string.Join("\n\n", Enumerable.Range(0, 10).Select(p =>
            $"Paragraph {p}: the ward keeps its records for twenty-five years, checks every patient's identity before a transfusion, and reports incidents within the hour."));
        _text = System.Text.Encoding.UTF8.GetBytes(string.Join("\n\n", Enumerable.Repeat(page, Pages)));
        embeddings.EmbedAsync(null, ["warm up"]).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _database.Dispose();
        _tenant.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    [Benchmark]
    public async Task IngestTwentyPages()
    {
        var id = KnowledgeIds.NewDocumentId();
        using var content = new MemoryStream(_text);
        var original = await _originals.SaveAsync(TenantScope.DefaultTenant, _kb.Id, id, content, long.MaxValue, "pages.txt", CancellationToken.None);
        await _store.AddDocumentAsync(new NewDocument(id, _kb.Id, "pages.txt", original.Path, original.Sha256, original.Bytes, null));
        await _pipeline.RunAsync(new PendingJob(TenantScope.DefaultTenant, _kb.Id, id), CancellationToken.None);
    }
}
