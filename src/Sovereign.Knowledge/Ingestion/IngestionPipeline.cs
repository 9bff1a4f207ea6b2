using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Knowledge.Chunking;
using Sovereign.Knowledge.Extraction;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Ingestion;

/// <summary>
/// Runs one document's ingestion job. Thread-safe (stateless apart from its services).
/// <list type="number">
/// <item>Enter the document's tenant; mark the job started (attempts + 1), or give up when it has had its tries.</item>
/// <item>Extract text from the stored original (the type is decided from its bytes).</item>
/// <item>Chunk it following its structure.</item>
/// <item>Embed the chunks in batches with the knowledge base's model, reporting progress after each batch.</item>
/// <item>Replace the document's rows in the index in one transaction, then mark it ready.</item>
/// </list>
/// A failure marks the job failed with its reason and leaves the index as it was. Cancellation (the server is
/// stopping) leaves the job as it is, so it resumes on the next start.
/// </summary>
public sealed class IngestionPipeline(
    IKnowledgeStore store,
    IKnowledgeIndex index,
    IDocumentExtractor extractor,
    IChunker chunker,
    IEmbeddingService embeddings,
    OriginalStore originals,
    IOptions<KnowledgeOptions> options,
    ILogger<IngestionPipeline> logger)
{
    public async Task RunAsync(PendingJob job, CancellationToken cancellationToken)
    {
        using var _ = TenantScope.Enter(job.TenantId);
        var settings = options.Value;

        // :: Step 1
        var document = await store.StartJobAsync(job.DocumentId, cancellationToken);
        if (document is null) return;
        var kb = await store.FindBaseAsync(job.KnowledgeBaseId, cancellationToken);
        if (kb is null) return;
        if (document.Attempts > settings.MaxIngestionAttempts)
        {
            await FailAsync(document, $"Ingestion was interrupted {document.Attempts - 1} times; it was not tried again (Sovereign:Knowledge:MaxIngestionAttempts).");
            return;
        }
        logger.IngestionStarted(document.Id, kb.Id, document.Attempts);

        try
        {
            // :: Step 2
            await store.ReportProgressAsync(document.Id, 0.02, "extracting", cancellationToken);
            // A node that did not receive the upload reads the original the shared database keeps.
            var original = await originals.LocalCopyAsync(document, (to, ct) => store.CopyOriginalAsync(document.Id, to, ct), cancellationToken)
                ?? throw SovereignException.NotFound("The stored original of this document is missing.", code: "original_missing");
            var extracted = await extractor.ExtractAsync(original, settings.ToExtractionLimits(), cancellationToken);
            await store.RecordExtractionAsync(document.Id, extracted.MediaType, extracted.PageCount, extracted.OcrPages, cancellationToken);

            // :: Step 3
            await store.ReportProgressAsync(document.Id, 0.2, "chunking", cancellationToken);
            var chunks = chunker.Chunk(extracted, new ChunkingOptions(settings.ChunkTokens, settings.ChunkOverlapTokens))
                .Where(c => !string.IsNullOrWhiteSpace(c.Text))
                .ToList();
            if (chunks.Count == 0)
                throw SovereignException.Invalid("No text was found in the document (nothing to index).", code: "no_text");

            // :: Step 4
            var indexed = new List<IndexedChunk>(chunks.Count);
            for (var start = 0; start < chunks.Count; start += settings.EmbeddingBatchSize)
            {
                var batch = chunks.Skip(start).Take(settings.EmbeddingBatchSize).ToList();
                var vectors = await embeddings.EmbedTruncatingAsync(kb.EmbeddingModel, [.. batch.Select(c => c.Text)], cancellationToken);
                if (vectors.Vectors.Count != batch.Count)
                    throw new InvalidOperationException($"The embedding service returned {vectors.Vectors.Count} vectors for {batch.Count} inputs.");
                for (var i = 0; i < batch.Count; i++)
                    indexed.Add(new IndexedChunk(i + start, batch[i].Text, batch[i].Page, batch[i].HeadingPath, vectors.Vectors[i]));
                await store.ReportProgressAsync(document.Id, 0.25 + (0.7 * indexed.Count / chunks.Count), "embedding", cancellationToken);
            }

            // :: Step 5
            await store.ReportProgressAsync(document.Id, 0.96, "indexing", cancellationToken);
            await index.ReplaceDocumentAsync(kb.Id, document.Id, indexed, cancellationToken);
            await store.FinishJobAsync(document.Id, DocumentStatus.Ready, indexed.Count, null, CancellationToken.None);
            logger.IngestionFinished(document.Id, indexed.Count, extracted.PageCount);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.IngestionInterrupted(document.Id);
            throw;
        }
        catch (SovereignException e) when (e.Code == "document_not_found")
        {
            // Deleted while it ran: nothing to record.
        }
        catch (SovereignException e)
        {
            await FailAsync(document, e.Message);
        }
        catch (Exception e)
        {
            logger.IngestionCrashed(e, document.Id);
            await FailAsync(document, $"Ingestion failed unexpectedly ({e.GetType().Name}); the server log has the details.");
        }
    }

    private async Task FailAsync(KnowledgeDocument document, string reason)
    {
        logger.IngestionFailed(document.Id, reason);
        await store.FinishJobAsync(document.Id, DocumentStatus.Failed, 0, reason, CancellationToken.None);
    }
}
