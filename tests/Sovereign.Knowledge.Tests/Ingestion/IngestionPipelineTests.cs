using System.Text;
using Sovereign.Core.Embeddings;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Tests.Ingestion;

public sealed class IngestionPipelineTests : IDisposable
{
    private readonly KnowledgeTestBed _bed = new(new KnowledgeOptions { EmbeddingBatchSize = 2, ChunkTokens = 40, ChunkOverlapTokens = 4 });

    private static byte[] Handbook()
    {
        var text = new StringBuilder("# Staff handbook\n\n");
        for (var i = 1; i <= 8; i++)
        {
            text.Append("## Section ").Append(i).Append("\n\n");
            text.Append("Paragraph ").Append(i).Append(" explains rule number ").Append(i)
                .Append(" of the hospital in plain words, so that every new nurse and doctor can follow it on the first day.\n\n");
        }
        text.Append("## Parking\n\nNight shift workers park free of charge after seven in the evening.\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private async Task<(KnowledgeBase Kb, KnowledgeDocument Doc)> QueuedAsync(byte[] content, string name = "handbook.md")
    {
        var kb = await _bed.Store.CreateBaseAsync("staff", null, _bed.Embeddings.DefaultModel);
        return (kb, await _bed.AddDocumentAsync(kb, name, content));
    }

    [Fact]
    public async Task A_markdown_document_is_extracted_chunked_embedded_and_indexed_then_ready()
    {
        var (kb, doc) = await QueuedAsync(Handbook());

        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, doc.Id), CancellationToken.None);

        var ready = (await _bed.Store.FindDocumentAsync(kb.Id, doc.Id))!;
        Assert.Equal(DocumentStatus.Ready, ready.Status);
        Assert.Null(ready.Error);
        Assert.Equal(1.0, ready.Progress);
        Assert.Equal("text/markdown", ready.MediaType);
        Assert.True(ready.ChunkCount > 2, $"expected several chunks, got {ready.ChunkCount}");
        Assert.Equal(new IndexCounts(ready.ChunkCount, ready.ChunkCount, ready.ChunkCount), await _bed.Index.CountAsync(kb.Id, doc.Id));

        var hits = await _bed.Search.SearchAsync(new SearchQuery([kb.Name], "Where can night staff leave their car?", TopK: 3));
        var parking = Assert.Single(hits, h => h.Text.Contains("park free of charge", StringComparison.Ordinal));
        Assert.Equal("handbook.md", parking.DocumentName);
        Assert.Contains("Parking", parking.HeadingPath);
    }

    [Fact]
    public async Task A_file_that_cannot_be_extracted_fails_with_its_reason_and_leaves_the_index_as_it_was()
    {
        var (kb, good) = await QueuedAsync(Handbook());
        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, good.Id), CancellationToken.None);
        var before = await _bed.Index.CountAsync(kb.Id);
        var bad = await _bed.AddDocumentAsync(kb, "notes.txt", [0x00, 0x01, 0x02, 0xFF, 0xFE, 0x00, 0x13, 0x37, 0x00, 0x00, 0x9A, 0x00]);

        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, bad.Id), CancellationToken.None);

        var failed = (await _bed.Store.FindDocumentAsync(kb.Id, bad.Id))!;
        Assert.Equal(DocumentStatus.Failed, failed.Status);
        Assert.False(string.IsNullOrWhiteSpace(failed.Error));
        Assert.Equal(before, await _bed.Index.CountAsync(kb.Id));
        Assert.True(File.Exists(failed.OriginalPath), "the original of a failed document is kept, as received");
    }

    [Fact]
    public async Task A_job_interrupted_while_embedding_resumes_from_the_start_and_finishes_without_duplicates()
    {
        var (kb, doc) = await QueuedAsync(Handbook());
        using var stop = new CancellationTokenSource();
        var interrupting = new InterruptingEmbeddings(_bed.Embeddings, afterCalls: 2, stop);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _bed.Pipeline(interrupting).RunAsync(new PendingJob("default", kb.Id, doc.Id), stop.Token));
        var interrupted = (await _bed.Store.FindDocumentAsync(kb.Id, doc.Id))!;
        Assert.Equal(DocumentStatus.Processing, interrupted.Status);
        Assert.Equal("embedding", interrupted.Stage);
        Assert.Equal(new IndexCounts(0, 0, 0), await _bed.Index.CountAsync(kb.Id));
        Assert.Contains(new PendingJob("default", kb.Id, doc.Id), await _bed.Store.ListUnfinishedJobsAsync());

        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, doc.Id), CancellationToken.None);
        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, doc.Id), CancellationToken.None); // a duplicate run of a finished job does nothing

        var ready = (await _bed.Store.FindDocumentAsync(kb.Id, doc.Id))!;
        Assert.Equal(DocumentStatus.Ready, ready.Status);
        Assert.Equal(2, ready.Attempts);
        Assert.Equal(new IndexCounts(ready.ChunkCount, ready.ChunkCount, ready.ChunkCount), await _bed.Index.CountAsync(kb.Id));
    }

    [Fact]
    public async Task A_job_that_keeps_being_interrupted_is_given_up_with_a_reason()
    {
        var (kb, doc) = await QueuedAsync(Handbook());
        for (var i = 0; i < 3; i++) await _bed.Store.StartJobAsync(doc.Id);

        await _bed.Pipeline().RunAsync(new PendingJob("default", kb.Id, doc.Id), CancellationToken.None);

        var failed = (await _bed.Store.FindDocumentAsync(kb.Id, doc.Id))!;
        Assert.Equal(DocumentStatus.Failed, failed.Status);
        Assert.Contains("MaxIngestionAttempts", failed.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _bed.Dispose();

    /// <summary>The real embedding service, with the server "stopping" (a cancelled token) after a number of calls.</summary>
    private sealed class InterruptingEmbeddings(IEmbeddingService inner, int afterCalls, CancellationTokenSource stop) : IEmbeddingService
    {
        private int _calls;

        public string DefaultModel => inner.DefaultModel;

        public Task<EmbeddingBatch> EmbedAsync(string? model, IReadOnlyList<string> inputs, CancellationToken cancellationToken = default)
        {
            if (++_calls > afterCalls)
            {
                stop.Cancel();
                cancellationToken.ThrowIfCancellationRequested();
            }
            return inner.EmbedAsync(model, inputs, cancellationToken);
        }
    }
}
