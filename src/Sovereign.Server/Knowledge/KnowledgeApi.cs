using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Knowledge;

/// <summary>
/// Knowledge bases under <c>/v1/knowledge</c> (inference scope; the caller's tenant only — another tenant's bases and
/// documents answer 404 as if they did not exist):
/// <list type="bullet">
/// <item><c>POST /v1/knowledge</c>, <c>GET /v1/knowledge</c>, <c>GET|DELETE /v1/knowledge/{kb}</c> (kb: id or name);</item>
/// <item><c>POST /v1/knowledge/{kb}/documents</c>: multipart upload; each original is on disk before the 202, ingestion
/// runs as a job;</item>
/// <item><c>GET /v1/knowledge/{kb}/documents[/{doc}]</c> with status and progress; <c>DELETE</c> a document and all
/// that was derived from it;</item>
/// <item><c>POST /v1/knowledge/{kb}/search</c>: hybrid (BM25 + vector, reciprocal rank fusion), vector or fulltext.</item>
/// </list>
/// </summary>
internal static partial class KnowledgeApi
{
    public const int MaxNameLength = 64;
    public const int MaxDescriptionLength = 1_000;
    private const int MaxFormFieldBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapKnowledgeApi(this IEndpointRouteBuilder app)
    {
        var bases = app.MapGroup("/v1/knowledge");
        bases.MapPost("", CreateBaseAsync).WithName("CreateKnowledgeBase");
        bases.MapGet("", ListBasesAsync).WithName("ListKnowledgeBases");
        bases.MapGet("/{kb}", GetBaseAsync).WithName("GetKnowledgeBase");
        bases.MapDelete("/{kb}", DeleteBaseAsync).WithName("DeleteKnowledgeBase");
        bases.MapPost("/{kb}/documents", UploadAsync).WithName("UploadKnowledgeDocuments");
        bases.MapGet("/{kb}/documents", ListDocumentsAsync).WithName("ListKnowledgeDocuments");
        bases.MapGet("/{kb}/documents/{doc}", GetDocumentAsync).WithName("GetKnowledgeDocument");
        bases.MapDelete("/{kb}/documents/{doc}", DeleteDocumentAsync).WithName("DeleteKnowledgeDocument");
        bases.MapPost("/{kb}/search", SearchAsync).WithName("SearchKnowledgeBase");
        return app;
    }

    private static async Task<IResult> CreateBaseAsync(HttpContext context, IKnowledgeStore store, IEmbeddingService embeddings, IOptions<KnowledgeOptions> options)
    {
        var body = await JsonBody.ReadAsync(context.Request, KnowledgeJsonContext.Default.CreateKnowledgeBaseRequest);
        var problems = new RequestProblems();
        var name = body.Name?.Trim();
        if (string.IsNullOrEmpty(name)) problems.Missing("name");
        else if (name.Length > MaxNameLength || !NamePattern().IsMatch(name))
            problems.Add("name", $"Invalid 'name': '{name}'. Use 1–{MaxNameLength} letters, digits, '.', '_' or '-', starting with a letter or digit.", "invalid_value");
        else if (name.StartsWith(KnowledgeIds.BasePrefix, StringComparison.Ordinal))
            problems.Add("name", $"Invalid 'name': names may not start with '{KnowledgeIds.BasePrefix}', which ids use.", "invalid_value");
        if (body.Description is { Length: > MaxDescriptionLength })
            problems.Add("description", $"description must be at most {MaxDescriptionLength} characters, got {body.Description.Length}.", "invalid_value");
        problems.ThrowIfAny();

        // The model is checked (and its canonical name learned) by embedding one word with it: unknown → 404.
        var requested = string.IsNullOrWhiteSpace(body.EmbeddingModel) ? options.Value.EmbeddingModel : body.EmbeddingModel.Trim();
        var probe = await embeddings.EmbedAsync(requested, ["probe"], context.RequestAborted);
        var kb = await store.CreateBaseAsync(name!, body.Description, probe.Model, context.RequestAborted);
        return TypedResults.Json(KnowledgeBaseObject.From(kb), KnowledgeJsonContext.Default.KnowledgeBaseObject, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListBasesAsync(HttpContext context, IKnowledgeStore store)
    {
        var bases = await store.ListBasesAsync(context.RequestAborted);
        return TypedResults.Json(new KnowledgeBaseList("list", [.. bases.Select(KnowledgeBaseObject.From)]), KnowledgeJsonContext.Default.KnowledgeBaseList);
    }

    private static async Task<IResult> GetBaseAsync(string kb, HttpContext context, IKnowledgeStore store)
    {
        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        return TypedResults.Json(KnowledgeBaseObject.From(found), KnowledgeJsonContext.Default.KnowledgeBaseObject);
    }

    private static async Task<IResult> DeleteBaseAsync(string kb, HttpContext context, IKnowledgeStore store, IKnowledgeIndex index, OriginalStore originals,
        IAuditLog audit)
    {
        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        // Index first, then the rows, then the files: a crash between steps leaves rows that can be deleted again.
        await index.DeleteBaseAsync(found.Id, CancellationToken.None);
        await store.DeleteBaseAsync(found.Id, CancellationToken.None);
        originals.DeleteBase(found.TenantId, found.Id);
        await audit.AppendAsync(new AuditEvent(AuditActions.KnowledgeDeleted, found.Id, $"knowledge base '{found.Name}' with {found.DocumentCount} document(s)"), CancellationToken.None);
        return TypedResults.Json(new DeletedObject(found.Id, "knowledge_base.deleted", true), KnowledgeJsonContext.Default.DeletedObject);
    }

    /// <summary>
    /// <list type="number">
    /// <item>Find the knowledge base; the body must be multipart/form-data.</item>
    /// <item>Lift the body limit to what uploads may carry (the per-file limit is enforced while each file streams).</item>
    /// <item>Store every file part's original, fsynced, under uploads/ (form fields are ignored).</item>
    /// <item>Only when all were stored: record each document (committed) and queue its ingestion job.</item>
    /// <item>202 with the documents, status queued.</item>
    /// </list>
    /// A failure at step 3 removes the originals already written, so a refused request leaves nothing behind.
    /// </summary>
    private static async Task<IResult> UploadAsync(string kb, HttpContext context, IKnowledgeStore store, OriginalStore originals, IngestionQueue queue,
        IOptions<KnowledgeOptions> options)
    {
        var ct = context.RequestAborted;
        var settings = options.Value;

        // :: Step 1
        var found = await RequireBaseAsync(store, kb, ct);
        var contentType = context.Request.ContentType;
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new SovereignException(ErrorKind.UnsupportedMediaType,
                "Upload documents as multipart/form-data with one file part per document (e.g. curl -F file=@report.pdf).", code: "unsupported_media_type");
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
            throw SovereignException.Invalid("The multipart/form-data Content-Type has no boundary.", code: "invalid_multipart");

        // :: Step 2
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = checked((settings.MaxUploadBytes + MaxFormFieldBytes) * settings.MaxFilesPerUpload);

        // :: Step 3
        var tenant = TenantScope.Require();
        var stored = new List<(string Id, string Name, string? Type, StoredOriginal Original)>();
        try
        {
            var reader = new MultipartReader(boundary, context.Request.Body);
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(ct)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
                {
                    await DrainFieldAsync(section.Body, ct);
                    continue;
                }
                if (stored.Count == settings.MaxFilesPerUpload)
                    throw new SovereignException(ErrorKind.PayloadTooLarge,
                        $"At most {settings.MaxFilesPerUpload} files may be uploaded at once (Sovereign:Knowledge:MaxFilesPerUpload).", "file", "too_many_files");
                var fileName = FileNameOf(disposition);
                var id = KnowledgeIds.NewDocumentId();
                var original = await originals.SaveAsync(tenant, found.Id, id, section.Body, settings.MaxUploadBytes, fileName, ct);
                stored.Add((id, fileName, section.ContentType, original));
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            DeleteAll(originals, stored);
            throw new SovereignException(ErrorKind.PayloadTooLarge,
                $"The upload is larger than this server accepts ({settings.MaxUploadBytes} bytes per file, Sovereign:Knowledge:MaxUploadBytes).", "file", "file_too_large");
        }
        catch (IOException e) when (!ct.IsCancellationRequested)
        {
            // MultipartReader's words for a truncated or malformed body.
            DeleteAll(originals, stored);
            throw SovereignException.Invalid($"The upload could not be read: {e.Message}", code: "invalid_multipart");
        }
        catch (InvalidDataException e)
        {
            DeleteAll(originals, stored);
            throw SovereignException.Invalid($"The multipart body is malformed: {e.Message}", code: "invalid_multipart");
        }
        catch
        {
            DeleteAll(originals, stored);
            throw;
        }
        if (stored.Count == 0)
            throw SovereignException.Invalid("The upload has no file part; send each document as a file (e.g. curl -F file=@report.pdf).", "file", "missing_file");

        // :: Step 4
        var documents = new List<DocumentObject>();
        foreach (var (id, name, type, original) in stored)
        {
            var document = await store.AddDocumentAsync(new NewDocument(id, found.Id, name, original.Path, original.Sha256, original.Bytes, type), CancellationToken.None);
            queue.Enqueue(new PendingJob(tenant, found.Id, id));
            documents.Add(DocumentObject.From(document));
        }

        // :: Step 5
        return TypedResults.Json(new DocumentList("list", documents), KnowledgeJsonContext.Default.DocumentList, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ListDocumentsAsync(string kb, HttpContext context, IKnowledgeStore store)
    {
        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        var documents = await store.ListDocumentsAsync(found.Id, context.RequestAborted);
        return TypedResults.Json(new DocumentList("list", [.. documents.Select(DocumentObject.From)]), KnowledgeJsonContext.Default.DocumentList);
    }

    private static async Task<IResult> GetDocumentAsync(string kb, string doc, HttpContext context, IKnowledgeStore store)
    {
        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        var document = await RequireDocumentAsync(store, found, doc, context.RequestAborted);
        return TypedResults.Json(DocumentObject.From(document), KnowledgeJsonContext.Default.DocumentObject);
    }

    private static async Task<IResult> DeleteDocumentAsync(string kb, string doc, HttpContext context, IKnowledgeStore store, IKnowledgeIndex index,
        OriginalStore originals, IAuditLog audit)
    {
        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        var document = await RequireDocumentAsync(store, found, doc, context.RequestAborted);
        await index.DeleteDocumentAsync(found.Id, document.Id, CancellationToken.None);
        await store.DeleteDocumentAsync(found.Id, document.Id, CancellationToken.None);
        originals.Delete(document.OriginalPath);
        // Ids only: a document's file name can itself be personal (a patient's letter, an employee's contract).
        await audit.AppendAsync(new AuditEvent(AuditActions.KnowledgeDeleted, document.Id, $"document of knowledge base {found.Id}"), CancellationToken.None);
        return TypedResults.Json(new DeletedObject(document.Id, "knowledge_document.deleted", true), KnowledgeJsonContext.Default.DeletedObject);
    }

    private static async Task<IResult> SearchAsync(string kb, HttpContext context, IKnowledgeStore store, IKnowledgeSearch search)
    {
        var body = await JsonBody.ReadAsync(context.Request, KnowledgeJsonContext.Default.KnowledgeSearchRequest);
        var problems = new RequestProblems();
        if (string.IsNullOrWhiteSpace(body.Query)) problems.Missing("query");
        var mode = ParseMode(body.Mode, "mode", problems);
        if (body.TopK is { } k && (k < 1 || k > HybridSearch.MaxTopK))
            problems.Add("top_k", $"top_k must be between 1 and {HybridSearch.MaxTopK}, got {k}.", "invalid_value");
        problems.ThrowIfAny();

        var found = await RequireBaseAsync(store, kb, context.RequestAborted);
        var hits = await search.SearchAsync(new SearchQuery([found.Id], body.Query!, body.TopK ?? 5, body.DocumentIds, mode), context.RequestAborted);
        return TypedResults.Json(new SearchResults("list", ModeText(mode), [.. hits.Select(PassageObject.From)]), KnowledgeJsonContext.Default.SearchResults);
    }

    internal static SearchMode ParseMode(string? mode, string param, RequestProblems problems)
    {
        switch (mode)
        {
            case null or "hybrid":
                return SearchMode.Hybrid;
            case "vector":
                return SearchMode.Vector;
            case "fulltext" or "full_text":
                return SearchMode.FullText;
            default:
                problems.Add(param, $"Invalid value for '{param}': '{mode}'. Supported values are: 'hybrid', 'vector' and 'fulltext'.", "invalid_value");
                return SearchMode.Hybrid;
        }
    }

    internal static string ModeText(SearchMode mode) => mode switch
    {
        SearchMode.Vector => "vector",
        SearchMode.FullText => "fulltext",
        _ => "hybrid",
    };

    private static async Task<KnowledgeBase> RequireBaseAsync(IKnowledgeStore store, string kb, CancellationToken ct) =>
        await store.FindBaseAsync(kb, ct) ?? throw SovereignException.NotFound($"No knowledge base '{kb}'.", "kb", "knowledge_base_not_found");

    private static async Task<KnowledgeDocument> RequireDocumentAsync(IKnowledgeStore store, KnowledgeBase kb, string doc, CancellationToken ct) =>
        await store.FindDocumentAsync(kb.Id, doc, ct) ?? throw SovereignException.NotFound($"No document '{doc}' in knowledge base '{kb.Name}'.", "doc", "document_not_found");

    /// <summary>The client's file name without any folder part, at most 255 characters; "upload" when it sent none.</summary>
    private static string FileNameOf(ContentDispositionHeaderValue disposition)
    {
        var raw = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
        var name = Path.GetFileName(raw.Replace('\\', '/')).Trim();
        name = new string([.. name.Where(c => !char.IsControl(c))]);
        if (name.Length == 0) name = "upload";
        return name.Length > 255 ? name[..255] : name;
    }

    private static async Task DrainFieldAsync(Stream body, CancellationToken ct)
    {
        var buffer = new byte[8192];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
            if (total > MaxFormFieldBytes)
                throw SovereignException.Invalid($"A form field of the upload is larger than {MaxFormFieldBytes} bytes; send documents as file parts.", code: "invalid_multipart");
        }
    }

    private static void DeleteAll(OriginalStore originals, List<(string Id, string Name, string? Type, StoredOriginal Original)> stored)
    {
        foreach (var s in stored) originals.Delete(s.Original.Path);
    }

    [GeneratedRegex(@"^[\p{L}\p{N}][\p{L}\p{N}._-]*$")]
    internal static partial Regex NamePattern();
}
