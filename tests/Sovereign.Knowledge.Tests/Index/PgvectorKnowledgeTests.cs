using System.Text.Json;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Inference.Embeddings;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.TestSupport.Postgres;

namespace Sovereign.Knowledge.Tests.Index;

/// <summary>One PGlite server (PostgreSQL with pgvector) for the class; each test empties its database first.</summary>
public sealed class PgvectorFixture : IAsyncLifetime
{
    public PgliteInstance Server { get; private set; } = null!;

    public EmbeddingService Embeddings { get; } = new(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions()));

    public async Task InitializeAsync() => Server = await PgliteInstance.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Knowledge in a shared database whose server offers pgvector: vectors are stored in a pgvector column and searched
/// by PostgreSQL, with the results and scores of the in-memory search. The tests of one class run one after another,
/// as PGlite needs (see <see cref="PgliteInstance"/>).
/// </summary>
public sealed class PgvectorKnowledgeTests(PgvectorFixture fixture) : IClassFixture<PgvectorFixture>, IAsyncLifetime
{
    private readonly List<PostgresKnowledgeNode> _nodes = [];
    private readonly IDisposable _tenant = TenantScope.Enter(TenantScope.DefaultTenant);

    public Task InitializeAsync() => fixture.Server.ResetAsync();

    public Task DisposeAsync()
    {
        foreach (var node in _nodes) node.Dispose();
        _tenant.Dispose();
        return Task.CompletedTask;
    }

    private async Task<PostgresKnowledgeNode> NodeAsync(PgvectorMode pgvector = PgvectorMode.Auto)
    {
        var node = new PostgresKnowledgeNode(fixture.Server.ConnectionString, fixture.Embeddings, pgvector: pgvector);
        _nodes.Add(node);
        await node.Database.MigrateAsync();
        return node;
    }

    private static float[] Axis(int i, int dimensions = 8)
    {
        var v = new float[dimensions];
        v[i % dimensions] = 1;
        return v;
    }

    private static float[] Unit(Random random, int dimensions = 16)
    {
        var v = new float[dimensions];
        for (var i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() - 0.5);
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    private static Task<object?> EmbeddedRowsAsync(PostgresKnowledgeNode node) => node.ScalarAsync("SELECT COUNT(embedding) FROM kb_chunks");

    [Fact]
    public async Task The_labelled_corpus_gives_the_results_and_scores_of_the_SQLite_index_and_of_the_in_memory_search()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Retrieval", "recall-set.json")));
        var passages = json.RootElement.GetProperty("passages").EnumerateArray()
            .Select(p => (Id: p.GetProperty("id").GetString()!, Text: p.GetProperty("text").GetString()!)).ToList();
        var questions = json.RootElement.GetProperty("questions").EnumerateArray().Select(q => q.GetProperty("q").GetString()!).ToList();
        var vectors = (await fixture.Embeddings.EmbedAsync(null, [.. passages.Select(p => p.Text)])).Vectors;

        using var sqlite = new KnowledgeTestBed();
        var pg = await NodeAsync();
        // Another node over the same rows that searches them in memory, as a node without pgvector would.
        var inMemory = await NodeAsync(PgvectorMode.Off);
        var sqliteKb = await sqlite.Store.CreateBaseAsync("handbook", null, fixture.Embeddings.DefaultModel);
        var pgKb = await pg.Store.CreateBaseAsync("handbook", null, fixture.Embeddings.DefaultModel);
        for (var i = 0; i < passages.Count; i++)
        {
            var chunk = new IndexedChunk(0, passages[i].Text, null, [], vectors[i]);
            await sqlite.Index.ReplaceDocumentAsync(sqliteKb.Id, (await sqlite.AddDocumentAsync(sqliteKb, passages[i].Id, "x"u8.ToArray())).Id, [chunk]);
            await pg.Index.ReplaceDocumentAsync(pgKb.Id, (await pg.UploadAsync(pgKb, passages[i].Id, "x"u8.ToArray())).Id, [chunk]);
        }
        Assert.Equal(VectorSearchKind.Pgvector, pg.Vectors.Kind);
        Assert.Equal((long)passages.Count, await EmbeddedRowsAsync(pg));

        foreach (var question in questions)
        {
            var fromSqlite = await sqlite.Search.SearchAsync(new SearchQuery([sqliteKb.Name], question, TopK: 5, Mode: SearchMode.Vector));
            var fromPgvector = await pg.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 5, Mode: SearchMode.Vector));
            Assert.Equal(fromSqlite.Select(h => h.DocumentName), fromPgvector.Select(h => h.DocumentName));
            Assert.Equal(fromSqlite.Select(h => h.Score), fromPgvector.Select(h => h.Score), (x, y) => Math.Abs(x - y) < 1e-5);

            // The same rows searched in memory: the same chunks with the same scores, so hybrid fusion ranks alike.
            var fromMemory = await inMemory.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 5, Mode: SearchMode.Vector));
            Assert.Equal(fromMemory.Select(h => h.ChunkId), fromPgvector.Select(h => h.ChunkId));
            Assert.Equal(fromMemory.Select(h => h.Score), fromPgvector.Select(h => h.Score), (x, y) => Math.Abs(x - y) < 1e-5);
            var hybridPgvector = await pg.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 5));
            var hybridMemory = await inMemory.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 5));
            Assert.Equal(hybridMemory.Select(h => h.ChunkId), hybridPgvector.Select(h => h.ChunkId));
        }
        Assert.Equal(VectorSearchKind.Partitioned, inMemory.Vectors.Kind);
    }

    [Fact]
    public async Task The_best_chunks_by_dot_product_are_exactly_those_of_the_in_memory_search_over_many_random_vectors()
    {
        var pg = await NodeAsync();
        var kb = await pg.Store.CreateBaseAsync("kb", null, "all-minilm");
        var random = new Random(11);
        for (var d = 0; d < 4; d++)
        {
            var doc = await pg.UploadAsync(kb, $"d{d}.txt", "x"u8.ToArray());
            await pg.Index.ReplaceDocumentAsync(kb.Id, doc.Id, [.. Enumerable.Range(0, 50).Select(i => new IndexedChunk(i, $"chunk {d}-{i}", null, [], Unit(random)))]);
        }
        var partition = new PostgresVectorPartition(pg.Database, TenantScope.DefaultTenant, kb.Id, 0, 1);

        for (var q = 0; q < 10; q++)
        {
            var query = Unit(random);
            var fromPgvector = await pg.Index.VectorSearchAsync(kb.Id, query, 15);
            var fromMemory = await partition.SearchAsync(query, 15, null, CancellationToken.None);
            Assert.Equal(fromMemory.Select(m => m.Key), fromPgvector.Select(m => m.Key));
            Assert.Equal(fromMemory.Select(m => m.Score), fromPgvector.Select(m => m.Score), (x, y) => Math.Abs(x - y) < 1e-5);
        }
        Assert.Equal(VectorSearchKind.Pgvector, pg.Vectors.Kind);
    }

    [Fact]
    public async Task A_search_keeps_to_the_documents_it_names_and_to_its_tenant()
    {
        var pg = await NodeAsync();
        var kb = await pg.Store.CreateBaseAsync("kb", null, "all-minilm");
        var first = await pg.UploadAsync(kb, "first.txt", "x"u8.ToArray());
        var second = await pg.UploadAsync(kb, "second.txt", "y"u8.ToArray());
        await pg.Index.ReplaceDocumentAsync(kb.Id, first.Id, [new IndexedChunk(0, "first", null, [], Axis(0)), new IndexedChunk(1, "first b", null, [], Axis(1))]);
        await pg.Index.ReplaceDocumentAsync(kb.Id, second.Id, [new IndexedChunk(0, "second", null, [], Axis(0))]);

        Assert.Equal(3, (await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 10)).Count);
        Assert.Equal([second.Id], await DocumentsAsync(pg, kb, Axis(0), new HashSet<string> { second.Id }));
        Assert.Equal([first.Id, first.Id], await DocumentsAsync(pg, kb, Axis(0), new HashSet<string> { first.Id }));
        Assert.Empty(await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 10, new HashSet<string>()));
        Assert.Empty(await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 0));

        using (TenantScope.Enter("other"))
        {
            // The base's id from another tenant finds nothing; that tenant's own base finds only its own chunk.
            Assert.Empty(await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 10));
            var theirs = await pg.Store.CreateBaseAsync("kb", null, "all-minilm");
            var doc = await pg.UploadAsync(theirs, "theirs.txt", "z"u8.ToArray());
            await pg.Index.ReplaceDocumentAsync(theirs.Id, doc.Id, [new IndexedChunk(0, "theirs", null, [], Axis(0))]);
            Assert.Equal([doc.Id], await DocumentsAsync(pg, theirs, Axis(0)));
        }
        Assert.Equal(3, (await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 10)).Count);
        Assert.Equal(VectorSearchKind.Pgvector, pg.Vectors.Kind);
    }

    [Fact]
    public async Task Replacing_or_deleting_a_document_or_its_base_takes_its_old_vectors_out_of_the_results()
    {
        var pg = await NodeAsync();
        var kb = await pg.Store.CreateBaseAsync("kb", null, "all-minilm");
        var first = await pg.UploadAsync(kb, "first.txt", "x"u8.ToArray());
        var second = await pg.UploadAsync(kb, "second.txt", "y"u8.ToArray());
        await pg.Index.ReplaceDocumentAsync(kb.Id, first.Id, [new IndexedChunk(0, "first", null, [], Axis(0)), new IndexedChunk(1, "first b", null, [], Axis(1))]);
        await pg.Index.ReplaceDocumentAsync(kb.Id, second.Id, [new IndexedChunk(0, "second", null, [], Axis(2))]);

        await pg.Index.ReplaceDocumentAsync(kb.Id, first.Id, [new IndexedChunk(0, "first again", null, [], Axis(3))]);
        Assert.Equal([second.Id], await DocumentsAsync(pg, kb, Axis(2), limit: 1));
        var best = Assert.Single(await pg.Index.VectorSearchAsync(kb.Id, Axis(3), 1));
        Assert.Equal(1f, best.Score, 1e-6f);
        Assert.Equal("first again", Assert.Single(await pg.Index.GetChunksAsync([best.Key])).Text);
        Assert.Equal(2, (await pg.Index.VectorSearchAsync(kb.Id, Axis(0), 10)).Count);

        await pg.Index.DeleteDocumentAsync(kb.Id, first.Id);
        Assert.Equal([second.Id], await DocumentsAsync(pg, kb, Axis(3)));

        await pg.Index.DeleteBaseAsync(kb.Id);
        Assert.Empty(await pg.Index.VectorSearchAsync(kb.Id, Axis(2), 10));
        Assert.Equal(VectorSearchKind.Pgvector, pg.Vectors.Kind);
    }

    [Fact]
    public async Task Chunks_stored_before_pgvector_was_used_are_given_embeddings_from_their_bytes_and_found()
    {
        // :: A node that does not use pgvector writes first: no extension, no column, as on a server without pgvector.
        var before = await NodeAsync(PgvectorMode.Off);
        var kb = await before.Store.CreateBaseAsync("kb", null, "all-minilm");
        var old = await before.UploadAsync(kb, "old.txt", "x"u8.ToArray());
        await before.Index.ReplaceDocumentAsync(kb.Id, old.Id, [new IndexedChunk(0, "old", null, [], Axis(0)), new IndexedChunk(1, "old b", null, [], Axis(1))]);
        Assert.Equal(VectorSearchKind.Partitioned, before.Vectors.Kind);
        Assert.Equal(0L, await before.ScalarAsync("SELECT COUNT(*) FROM pg_extension WHERE extname = 'vector'"));

        // :: A node using pgvector starts: it creates the extension and the column and fills the rows already there.
        var pg = await NodeAsync();
        Assert.Equal(VectorSearchKind.Pgvector, await pg.Vectors.PrepareAsync());
        Assert.Equal(2L, await EmbeddedRowsAsync(pg));
        Assert.Equal([old.Id], await DocumentsAsync(pg, kb, Axis(1), limit: 1));

        // :: The first node, which decided before the column existed, keeps writing without it; the next search of the
        // base fills what it wrote.
        var late = await before.UploadAsync(kb, "late.txt", "y"u8.ToArray());
        await before.Index.ReplaceDocumentAsync(kb.Id, late.Id, [new IndexedChunk(0, "late", null, [], Axis(2))]);
        Assert.Equal(2L, await EmbeddedRowsAsync(pg));
        Assert.Equal([late.Id], await DocumentsAsync(pg, kb, Axis(2), limit: 1));
        Assert.Equal(3L, await EmbeddedRowsAsync(pg));

        // :: A node set to off that starts now finds the column and fills it on write, so pgvector misses nothing.
        var offLater = await NodeAsync(PgvectorMode.Off);
        var third = await offLater.UploadAsync(kb, "third.txt", "z"u8.ToArray());
        await offLater.Index.ReplaceDocumentAsync(kb.Id, third.Id, [new IndexedChunk(0, "third", null, [], Axis(3))]);
        Assert.Equal(4L, await EmbeddedRowsAsync(pg));
        Assert.Equal([third.Id], await DocumentsAsync(offLater, kb, Axis(3), limit: 1));
        Assert.Equal(VectorSearchKind.Partitioned, offLater.Vectors.Kind);
    }

    [Fact]
    public async Task A_query_embedded_by_another_model_is_refused_as_the_in_memory_search_refuses_it()
    {
        var pg = await NodeAsync();
        var kb = await pg.Store.CreateBaseAsync("kb", null, "all-minilm");
        var doc = await pg.UploadAsync(kb, "a.txt", "x"u8.ToArray());
        await pg.Index.ReplaceDocumentAsync(kb.Id, doc.Id, [new IndexedChunk(0, "a", null, [], Axis(0))]);

        var error = await Assert.ThrowsAsync<SovereignException>(() => pg.Index.VectorSearchAsync(kb.Id, Axis(0, 12), 5));
        Assert.Equal("embedding_dimensions_mismatch", error.Code);
        Assert.Contains("12 dimensions", error.Message, StringComparison.Ordinal);
        Assert.Contains("have 8", error.Message, StringComparison.Ordinal);
        Assert.Equal(VectorSearchKind.Pgvector, pg.Vectors.Kind);
    }

    private static async Task<List<string>> DocumentsAsync(PostgresKnowledgeNode node, KnowledgeBase kb, float[] query, IReadOnlySet<string>? documents = null,
        int limit = 10)
    {
        var matches = await node.Index.VectorSearchAsync(kb.Id, query, limit, documents);
        var chunks = await node.Index.GetChunksAsync([.. matches.Select(m => m.Key)]);
        return [.. chunks.Select(c => c.DocumentId)];
    }
}
