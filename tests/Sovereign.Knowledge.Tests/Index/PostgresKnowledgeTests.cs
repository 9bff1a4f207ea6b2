using System.Text.Json;
using Sovereign.Core.Tenancy;
using Sovereign.Inference.Embeddings;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.TestSupport.Postgres;

namespace Sovereign.Knowledge.Tests.Index;

/// <summary>One real PostgreSQL server for the class; each test takes a database of its own.</summary>
public sealed class KnowledgePostgresFixture : IAsyncLifetime
{
    public PostgresInstance Server { get; private set; } = null!;

    /// <summary>One MiniLM for every test (loading it is the slow part).</summary>
    public EmbeddingService Embeddings { get; } = new(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions()));

    public async Task InitializeAsync() => Server = await PostgresInstance.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Knowledge in a shared PostgreSQL database, as several nodes use it: each <see cref="PostgresKnowledgeNode"/> has its
/// own data folder, pools and vectors in memory, over one database. Debian's PostgreSQL has no pgvector, so vector
/// search here is the in-memory, partitioned one (<see cref="PgvectorKnowledgeTests"/> covers pgvector).
/// </summary>
public sealed class PostgresKnowledgeTests(KnowledgePostgresFixture fixture) : IClassFixture<KnowledgePostgresFixture>, IAsyncLifetime
{
    private readonly List<PostgresKnowledgeNode> _nodes = [];
    private readonly IDisposable _tenant = TenantScope.Enter(TenantScope.DefaultTenant);
    private string _database = null!;

    public async Task InitializeAsync() => _database = await fixture.Server.CreateDatabaseAsync();

    public Task DisposeAsync()
    {
        foreach (var node in _nodes) node.Dispose();
        _tenant.Dispose();
        return Task.CompletedTask;
    }

    private async Task<PostgresKnowledgeNode> NodeAsync(TimeProvider? time = null)
    {
        var node = new PostgresKnowledgeNode(_database, fixture.Embeddings, time);
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

    [Fact]
    public async Task A_document_uploaded_through_one_node_is_ingested_by_another_from_the_original_the_database_keeps()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var kb = await a.Store.CreateBaseAsync("handbook", null, fixture.Embeddings.DefaultModel);
        var text = "# Boilers\n\nThe boiler room is inspected every spring by the facilities team.\n\n# Visitors\n\nVisitors sign in at reception."u8.ToArray();
        var doc = await a.UploadAsync(kb, "facilities.md", text);
        // The nodes share this machine's disk; node B must not find A's file, as on another machine.
        File.Delete(doc.OriginalPath);

        await b.Pipeline().RunAsync(new PendingJob(TenantScope.DefaultTenant, kb.Id, doc.Id), CancellationToken.None);

        var ready = (await a.Store.FindDocumentAsync(kb.Id, doc.Id))!;
        Assert.Equal(DocumentStatus.Ready, ready.Status);
        Assert.True(ready.ChunkCount > 0);
        // Node B read the original from the database into its own folder, byte for byte.
        var copy = Directory.GetFiles(b.Home, doc.Id, SearchOption.AllDirectories);
        Assert.Equal(text, await File.ReadAllBytesAsync(Assert.Single(copy)));
        Assert.StartsWith(a.Home, doc.OriginalPath, StringComparison.Ordinal);

        var hits = await a.Search.SearchAsync(new SearchQuery([kb.Name], "when is the boiler inspected?", TopK: 1));
        Assert.Contains("boiler room", Assert.Single(hits).Text, StringComparison.Ordinal);
        var fullText = await b.Search.SearchAsync(new SearchQuery([kb.Name], "reception", TopK: 3, Mode: SearchMode.FullText));
        Assert.Contains("reception", Assert.Single(fullText).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_one_node_is_running_is_not_started_by_another_until_its_lease_runs_out()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var a = await NodeAsync(time);
        var b = await NodeAsync(time);
        var kb = await a.Store.CreateBaseAsync("kb", null, "all-minilm");
        var doc = await a.UploadAsync(kb, "a.txt", "hello"u8.ToArray());
        Assert.Equal([doc.Id], (await b.Store.ListUnfinishedJobsAsync()).Select(j => j.DocumentId));

        Assert.NotNull(await a.Store.StartJobAsync(doc.Id));
        Assert.Null(await b.Store.StartJobAsync(doc.Id));
        Assert.Empty(await b.Store.ListUnfinishedJobsAsync());

        // A progress report renews the lease; silence lets it run out, and then another node may take the job up.
        time.Advance(TimeSpan.FromSeconds(50));
        await a.Store.ReportProgressAsync(doc.Id, 0.5, "embedding");
        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Null(await b.Store.StartJobAsync(doc.Id));
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal([doc.Id], (await b.Store.ListUnfinishedJobsAsync()).Select(j => j.DocumentId));
        var taken = await b.Store.StartJobAsync(doc.Id);
        Assert.Equal(2, taken!.Attempts);

        await b.Store.FinishJobAsync(doc.Id, DocumentStatus.Ready, 1, null);
        Assert.Null(await a.Store.StartJobAsync(doc.Id));
        Assert.Empty(await a.Store.ListUnfinishedJobsAsync());
    }

    [Fact]
    public async Task Vector_search_on_one_node_follows_writes_and_deletes_made_through_another()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var kb = await a.Store.CreateBaseAsync("kb", null, "all-minilm");
        var first = await a.UploadAsync(kb, "first.txt", "x"u8.ToArray());
        var second = await a.UploadAsync(kb, "second.txt", "y"u8.ToArray());
        await a.Index.ReplaceDocumentAsync(kb.Id, first.Id, [new IndexedChunk(0, "first", null, [], Axis(0)), new IndexedChunk(1, "first b", null, [], Axis(1))]);

        Assert.Equal([first.Id, first.Id], await DocumentsAsync(b, kb, Axis(0)));

        // Loaded on B; now A changes the base. B patches what changed, reading the change log.
        await a.Index.ReplaceDocumentAsync(kb.Id, second.Id, [new IndexedChunk(0, "second", null, [], Axis(0))]);
        await a.Index.DeleteDocumentAsync(kb.Id, first.Id);
        Assert.Equal([second.Id], await DocumentsAsync(b, kb, Axis(0)));
        Assert.Equal(new IndexCounts(1, 1, 1), await b.Index.CountAsync(kb.Id));

        await a.Index.ReplaceDocumentAsync(kb.Id, second.Id, [new IndexedChunk(0, "second again", null, [], Axis(2)), new IndexedChunk(1, "second two", null, [], Axis(3))]);
        Assert.Equal(2, (await DocumentsAsync(b, kb, Axis(2))).Count);

        await a.Index.DeleteBaseAsync(kb.Id);
        Assert.Empty(await b.Index.VectorSearchAsync(kb.Id, Axis(2), 10));

        // Another tenant never sees the base.
        using (TenantScope.Enter("other"))
            Assert.Empty(await b.Index.VectorSearchAsync(kb.Id, Axis(2), 10));
    }

    private static async Task<List<string>> DocumentsAsync(PostgresKnowledgeNode node, KnowledgeBase kb, float[] query)
    {
        var matches = await node.Index.VectorSearchAsync(kb.Id, query, 10);
        var chunks = await node.Index.GetChunksAsync([.. matches.Select(m => m.Key)]);
        return [.. chunks.Select(c => c.DocumentId)];
    }

    [Fact]
    public async Task The_labelled_corpus_gives_the_same_vector_results_and_the_same_full_text_matches_as_the_SQLite_index()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Retrieval", "recall-set.json")));
        var passages = json.RootElement.GetProperty("passages").EnumerateArray()
            .Select(p => (Id: p.GetProperty("id").GetString()!, Text: p.GetProperty("text").GetString()!)).ToList();
        var questions = json.RootElement.GetProperty("questions").EnumerateArray().Select(q => q.GetProperty("q").GetString()!).ToList();
        var vectors = (await fixture.Embeddings.EmbedAsync(null, [.. passages.Select(p => p.Text)])).Vectors;

        using var sqlite = new KnowledgeTestBed();
        var pg = await NodeAsync();
        var sqliteKb = await sqlite.Store.CreateBaseAsync("handbook", null, fixture.Embeddings.DefaultModel);
        var pgKb = await pg.Store.CreateBaseAsync("handbook", null, fixture.Embeddings.DefaultModel);
        for (var i = 0; i < passages.Count; i++)
        {
            var chunk = new IndexedChunk(0, passages[i].Text, null, [], vectors[i]);
            await sqlite.Index.ReplaceDocumentAsync(sqliteKb.Id, (await sqlite.AddDocumentAsync(sqliteKb, passages[i].Id, "x"u8.ToArray())).Id, [chunk]);
            await pg.Index.ReplaceDocumentAsync(pgKb.Id, (await pg.UploadAsync(pgKb, passages[i].Id, "x"u8.ToArray())).Id, [chunk]);
        }

        foreach (var question in questions)
        {
            var fromSqlite = await sqlite.Search.SearchAsync(new SearchQuery([sqliteKb.Name], question, TopK: 5, Mode: SearchMode.Vector));
            var fromPg = await pg.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 5, Mode: SearchMode.Vector));
            Assert.Equal(fromSqlite.Select(h => h.DocumentName), fromPg.Select(h => h.DocumentName));
            Assert.Equal(fromSqlite.Select(h => h.Score), fromPg.Select(h => h.Score), (x, y) => Math.Abs(x - y) < 1e-5);

            // The two full-text engines rank differently (BM25 against ts_rank) but match the same passages.
            var allSqlite = await sqlite.Search.SearchAsync(new SearchQuery([sqliteKb.Name], question, TopK: 100, Mode: SearchMode.FullText));
            var allPg = await pg.Search.SearchAsync(new SearchQuery([pgKb.Name], question, TopK: 100, Mode: SearchMode.FullText));
            Assert.Equal(allSqlite.Select(h => h.DocumentName).Order(), allPg.Select(h => h.DocumentName).Order());
        }
    }

    [Fact]
    public async Task Without_the_pgvector_extension_vectors_are_searched_in_memory_and_the_schema_gains_no_column()
    {
        var a = await NodeAsync();
        var kb = await a.Store.CreateBaseAsync("kb", null, "all-minilm");
        var doc = await a.UploadAsync(kb, "a.txt", "x"u8.ToArray());
        await a.Index.ReplaceDocumentAsync(kb.Id, doc.Id, [new IndexedChunk(0, "a", null, [], Axis(0))]);

        Assert.Single(await a.Index.VectorSearchAsync(kb.Id, Axis(0), 5));
        Assert.Equal(VectorSearchKind.Partitioned, a.Vectors.Kind);
        Assert.Equal(0L, await a.ScalarAsync("SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'vector'"));
        Assert.Equal(0L, await a.ScalarAsync("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'kb_chunks' AND column_name = 'embedding'"));
    }

    [Fact]
    public async Task Partitions_searched_apart_and_merged_give_exactly_the_single_set_top_k()
    {
        var a = await NodeAsync();
        var kb = await a.Store.CreateBaseAsync("kb", null, "all-minilm");
        var random = new Random(7);
        float[] Unit()
        {
            var v = new float[16];
            for (var i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() - 0.5);
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            return [.. v.Select(x => x / norm)];
        }
        for (var d = 0; d < 5; d++)
        {
            var doc = await a.UploadAsync(kb, $"d{d}.txt", "x"u8.ToArray());
            await a.Index.ReplaceDocumentAsync(kb.Id, doc.Id, [.. Enumerable.Range(0, 40).Select(i => new IndexedChunk(i, $"chunk {d}-{i}", null, [], Unit()))]);
        }
        var partitions = Enumerable.Range(0, 3).Select(p => new PostgresVectorPartition(a.Database, TenantScope.DefaultTenant, kb.Id, p, 3)).ToList();

        for (var q = 0; q < 10; q++)
        {
            var query = Unit();
            var whole = await a.Index.VectorSearchAsync(kb.Id, query, 12);
            var parts = await Task.WhenAll(partitions.Select(p => p.SearchAsync(query, 12, null, CancellationToken.None)));
            Assert.Equal(whole.Select(m => m.Key), PartitionResults.Merge(parts, 12).Select(m => m.Key));
        }
        Assert.Equal(200, partitions.Sum(p => p.Count));
        Assert.All(partitions, p => Assert.InRange(p.Count, 50, 80));
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
