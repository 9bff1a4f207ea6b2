using Microsoft.Extensions.Options;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.Server.Knowledge;
using Sovereign.Server.OpenAi;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// The knowledge page over the knowledge area's own store, originals, ingestion queue, index and search, in the same
/// order and with the same limits as <c>/v1/knowledge</c> (see <see cref="KnowledgeApi"/>), inside the asking tenant.
/// Thread-safe (each part is).
/// </summary>
internal sealed class WebKnowledgeAccess(IKnowledgeStore store, IKnowledgeIndex index, OriginalStore originals, IngestionQueue queue,
    IKnowledgeSearch search, IEmbeddingService embeddings, IOptions<KnowledgeOptions> options) : IKnowledgeAccess
{
    public long MaxUploadBytes => options.Value.MaxUploadBytes;

    public int MaxNameLength => KnowledgeApi.MaxNameLength;

    public async Task<IReadOnlyList<WebKnowledgeBase>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId)) return [.. (await store.ListBasesAsync(cancellationToken)).Select(ToWeb)];
    }

    public async Task<WebKnowledgeBase> CreateAsync(string tenantId, string name, string? description, CancellationToken cancellationToken = default)
    {
        name = name.Trim();
        var problems = new RequestProblems();
        if (name.Length == 0) problems.Missing("name");
        else if (name.Length > KnowledgeApi.MaxNameLength || !KnowledgeApi.NamePattern().IsMatch(name))
            problems.Add("name", $"Invalid 'name': '{name}'. Use 1–{KnowledgeApi.MaxNameLength} letters, digits, '.', '_' or '-', starting with a letter or digit.", "invalid_value");
        else if (name.StartsWith(KnowledgeIds.BasePrefix, StringComparison.Ordinal))
            problems.Add("name", $"Invalid 'name': names may not start with '{KnowledgeIds.BasePrefix}', which ids use.", "invalid_value");
        if (description is { Length: > KnowledgeApi.MaxDescriptionLength })
            problems.Add("description", $"description must be at most {KnowledgeApi.MaxDescriptionLength} characters, got {description.Length}.", "invalid_value");
        problems.ThrowIfAny();

        using (TenantScope.Enter(tenantId))
        {
            // As the API does: the model is checked, and its canonical name learned, by embedding one word with it.
            var probe = await embeddings.EmbedAsync(options.Value.EmbeddingModel, ["probe"], cancellationToken);
            return ToWeb(await store.CreateBaseAsync(name, string.IsNullOrWhiteSpace(description) ? null : description.Trim(), probe.Model, cancellationToken));
        }
    }

    public async Task<bool> DeleteAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            if (await store.FindBaseAsync(id, cancellationToken) is not { } found) return false;
            // Index first, then the rows, then the files: a crash between steps leaves rows that can be deleted again.
            await index.DeleteBaseAsync(found.Id, CancellationToken.None);
            await store.DeleteBaseAsync(found.Id, CancellationToken.None);
            originals.DeleteBase(found.TenantId, found.Id);
            return true;
        }
    }

    public async Task<IReadOnlyList<WebDocument>?> ListDocumentsAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            if (await store.FindBaseAsync(id, cancellationToken) is not { } found) return null;
            return [.. (await store.ListDocumentsAsync(found.Id, cancellationToken)).Select(ToWeb)];
        }
    }

    public async Task<WebDocument> UploadAsync(string tenantId, string id, string fileName, string? contentType, Stream content,
        CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            var found = await store.FindBaseAsync(id, cancellationToken)
                ?? throw SovereignException.NotFound($"No knowledge base '{id}'.", "kb", "knowledge_base_not_found");
            var documentId = KnowledgeIds.NewDocumentId();
            var name = Path.GetFileName(fileName.Replace('\\', '/'));
            // The original is on disk (fsynced) before the document is recorded, and recorded before its job is queued.
            var original = await originals.SaveAsync(tenantId, found.Id, documentId, content, MaxUploadBytes, name, cancellationToken);
            var document = await store.AddDocumentAsync(new NewDocument(documentId, found.Id, name, original.Path, original.Sha256, original.Bytes, contentType),
                CancellationToken.None);
            queue.Enqueue(new PendingJob(tenantId, found.Id, documentId));
            return ToWeb(document);
        }
    }

    public async Task<bool> DeleteDocumentAsync(string tenantId, string id, string documentId, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            if (await store.FindBaseAsync(id, cancellationToken) is not { } found
                || await store.FindDocumentAsync(found.Id, documentId, cancellationToken) is not { } document) return false;
            await index.DeleteDocumentAsync(found.Id, document.Id, CancellationToken.None);
            await store.DeleteDocumentAsync(found.Id, document.Id, CancellationToken.None);
            originals.Delete(document.OriginalPath);
            return true;
        }
    }

    public async Task<IReadOnlyList<WebPassage>> SearchAsync(string tenantId, IReadOnlyList<string> ids, string query, int topK,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(query)) throw SovereignException.Invalid("Missing required parameter: 'query'.", "query", "missing_required_parameter");
        if (ids.Count == 0) return [];
        using (TenantScope.Enter(tenantId))
        {
            var hits = await search.SearchAsync(new SearchQuery(ids, query.Trim(), Math.Clamp(topK, 1, HybridSearch.MaxTopK)), cancellationToken);
            return [.. hits.Select(h => new WebPassage(h.KnowledgeBaseId, h.DocumentId, h.DocumentName, h.Text, h.Page, h.HeadingPath, h.Score))];
        }
    }

    private static WebKnowledgeBase ToWeb(KnowledgeBase kb) =>
        new(kb.Id, kb.Name, kb.Description, kb.EmbeddingModel, kb.CreatedAt, kb.DocumentCount, kb.ChunkCount);

    private static WebDocument ToWeb(KnowledgeDocument d) => new(d.Id, d.Name, d.Bytes, d.Status switch
    {
        DocumentStatus.Queued => WebDocumentStatus.Queued,
        DocumentStatus.Processing => WebDocumentStatus.Processing,
        DocumentStatus.Ready => WebDocumentStatus.Ready,
        _ => WebDocumentStatus.Failed,
    }, d.Progress, d.Stage, d.Error, d.ChunkCount, d.CreatedAt);
}
