using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Tests.Index;

public sealed class SqliteKnowledgeIndexTests : IDisposable
{
    private readonly KnowledgeTestBed _bed = new();

    private static float[] Axis(int i, int dimensions = 8)
    {
        var v = new float[dimensions];
        v[i % dimensions] = 1;
        return v;
    }

    private static IReadOnlyList<IndexedChunk> Chunks(params string[] texts) =>
        [.. texts.Select((t, i) => new IndexedChunk(i, t, i + 1, ["Chapter"], Axis(i)))];

    private async Task<(KnowledgeBase Kb, KnowledgeDocument Doc)> DocumentAsync(string name = "a.txt")
    {
        var kb = await _bed.Store.FindBaseAsync("kb") ?? await _bed.Store.CreateBaseAsync("kb", null, "all-minilm");
        var doc = await _bed.AddDocumentAsync(kb, name, "x"u8.ToArray());
        return (kb, doc);
    }

    [Fact]
    public async Task Replacing_a_document_twice_leaves_one_copy_of_its_chunks_vectors_and_full_text_rows()
    {
        var (kb, doc) = await DocumentAsync();
        var chunks = Chunks("The boiler is inspected every spring.", "Fire exits are on every floor.", "Visitors sign in at reception.");

        await _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, chunks);
        await _bed.Index.VectorSearchAsync(kb.Id, Axis(0), 10); // loads the set, so the second write must update it in place
        await _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, chunks);

        Assert.Equal(new IndexCounts(3, 3, 3), await _bed.Index.CountAsync(kb.Id, doc.Id));
        Assert.Equal(3, (await _bed.Index.VectorSearchAsync(kb.Id, Axis(0), 10)).Count);
        Assert.Single(await _bed.Index.FullTextSearchAsync(kb.Id, "boiler", 10));
    }

    [Fact]
    public async Task Full_text_search_ranks_by_bm25_and_survives_query_syntax()
    {
        var (kb, doc) = await DocumentAsync();
        await _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, Chunks(
            "Annual leave requests go to the ward manager.",
            "Leave, leave and more leave: the leave policy explains annual leave.",
            "The pharmacy opens at eight."));

        var found = await _bed.Index.FullTextSearchAsync(kb.Id, "leave policy\" OR NEAR( * -", 10);
        var chunks = await _bed.Index.GetChunksAsync([.. found.Select(f => f.Key)]);

        Assert.Equal(2, found.Count);
        Assert.Contains("leave policy", chunks[0].Text, StringComparison.Ordinal);
        Assert.True(found[0].Score >= found[1].Score);
        Assert.Empty(await _bed.Index.FullTextSearchAsync(kb.Id, "*** ??? ---", 10));
    }

    [Fact]
    public async Task Deleting_a_document_removes_its_chunks_vectors_and_full_text_rows_from_disk_and_memory()
    {
        var (kb, keep) = await DocumentAsync("keep.txt");
        var (_, drop) = await DocumentAsync("drop.txt");
        await _bed.Index.ReplaceDocumentAsync(kb.Id, keep.Id, Chunks("Keep this passage about gardens."));
        await _bed.Index.ReplaceDocumentAsync(kb.Id, drop.Id, Chunks("Drop this passage about gardens.", "And this one."));
        Assert.Equal(3, (await _bed.Index.VectorSearchAsync(kb.Id, Axis(0), 10)).Count);

        Assert.Equal(2, await _bed.Index.DeleteDocumentAsync(kb.Id, drop.Id));

        Assert.Equal(new IndexCounts(0, 0, 0), await _bed.Index.CountAsync(kb.Id, drop.Id));
        Assert.Equal(1, _bed.Index.CountAllFullTextRows());
        var vector = await _bed.Index.VectorSearchAsync(kb.Id, Axis(0), 10);
        Assert.Equal(keep.Id, Assert.Single(await _bed.Index.GetChunksAsync([.. vector.Select(v => v.Key)])).DocumentId);
        var text = await _bed.Index.FullTextSearchAsync(kb.Id, "gardens", 10);
        Assert.Equal(keep.Id, Assert.Single(await _bed.Index.GetChunksAsync([.. text.Select(v => v.Key)])).DocumentId);
    }

    [Fact]
    public async Task Indexing_a_document_deleted_while_its_job_ran_changes_nothing()
    {
        var (kb, doc) = await DocumentAsync();
        await _bed.Store.DeleteDocumentAsync(kb.Id, doc.Id);

        var e = await Assert.ThrowsAsync<SovereignException>(() => _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, Chunks("orphan")));

        Assert.Equal("document_not_found", e.Code);
        Assert.Equal(0, _bed.Index.CountAllFullTextRows());
    }

    [Fact]
    public async Task Another_tenant_sees_none_of_the_chunks()
    {
        var (kb, doc) = await DocumentAsync();
        await _bed.Index.ReplaceDocumentAsync(kb.Id, doc.Id, Chunks("Confidential salary table."));
        var key = (await _bed.Index.FullTextSearchAsync(kb.Id, "salary", 1))[0].Key;

        using (TenantScope.Enter("other"))
        {
            Assert.Empty(await _bed.Index.FullTextSearchAsync(kb.Id, "salary", 10));
            Assert.Empty(await _bed.Index.VectorSearchAsync(kb.Id, Axis(0), 10));
            Assert.Empty(await _bed.Index.GetChunksAsync([key]));
            Assert.Null(await _bed.Store.FindBaseAsync(kb.Id));
            Assert.Empty(await _bed.Store.ListBasesAsync());
            await _bed.Index.DeleteBaseAsync(kb.Id);
        }
        Assert.Equal(new IndexCounts(1, 1, 1), await _bed.Index.CountAsync(kb.Id));
    }

    [Fact]
    public async Task Nothing_is_read_without_a_tenant_in_scope()
    {
        var (kb, _) = await DocumentAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => ExecuteUnscoped(() => _bed.Index.FullTextSearchAsync(kb.Id, "a", 1)));
    }

    private static Task<T> ExecuteUnscoped<T>(Func<Task<T>> action)
    {
        // ExecutionContext.SuppressFlow runs the call with no tenant, as a careless background job would.
        using (ExecutionContext.SuppressFlow()) return Task.Run(action);
    }

    public void Dispose() => _bed.Dispose();
}
