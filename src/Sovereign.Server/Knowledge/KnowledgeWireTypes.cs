using System.Text.Json.Serialization;
using Sovereign.Knowledge.Citations;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.Server.OpenAi;

namespace Sovereign.Server.Knowledge;

// The knowledge API's wire format (snake_case, KnowledgeJsonContext). Requests are mutable classes with every field
// optional so that validation reports what is missing; times are unix seconds.

internal sealed class CreateKnowledgeBaseRequest
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public string? EmbeddingModel { get; set; }
}

internal sealed class KnowledgeSearchRequest
{
    public string? Query { get; set; }
    public string? Mode { get; set; }
    public int? TopK { get; set; }
    public List<string>? DocumentIds { get; set; }
}

internal sealed record KnowledgeBaseObject(string Id, string Object, string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Description,
    string EmbeddingModel, long CreatedAt, int DocumentCount, int ChunkCount)
{
    public static KnowledgeBaseObject From(KnowledgeBase kb) =>
        new(kb.Id, "knowledge_base", kb.Name, kb.Description, kb.EmbeddingModel, kb.CreatedAt.ToUnixTimeSeconds(), kb.DocumentCount, kb.ChunkCount);
}

internal sealed record KnowledgeBaseList(string Object, IReadOnlyList<KnowledgeBaseObject> Data);

internal sealed record DocumentObject(
    string Id,
    string Object,
    string KnowledgeBase,
    string Name,
    long Bytes,
    string Sha256,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? MediaType,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Pages,
    int? OcrPages,
    int Chunks,
    string Status,
    double Progress,
    string? Stage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Error,
    int Attempts,
    long CreatedAt,
    long UpdatedAt)
{
    public static DocumentObject From(KnowledgeDocument d) => new(d.Id, "knowledge_document", d.KnowledgeBaseId, d.Name, d.Bytes, d.Sha256, d.MediaType,
        d.Pages, d.OcrPages, d.ChunkCount, SqliteStatus(d.Status), Math.Round(d.Progress, 3), d.Stage, d.Error, d.Attempts,
        d.CreatedAt.ToUnixTimeSeconds(), d.UpdatedAt.ToUnixTimeSeconds());

    private static string SqliteStatus(DocumentStatus status) => status switch
    {
        DocumentStatus.Queued => "queued",
        DocumentStatus.Processing => "processing",
        DocumentStatus.Ready => "ready",
        _ => "failed",
    };
}

internal sealed record DocumentList(string Object, IReadOnlyList<DocumentObject> Data);

internal sealed record DeletedObject(string Id, string Object, bool Deleted);

/// <param name="Score">The first stage's score (fused RRF, cosine or BM25, by mode).</param>
/// <param name="RerankScore">The reranker's score in (0, 1) that ordered the results; absent when no reranker is configured.</param>
internal sealed record PassageObject(string ChunkId, string KnowledgeBase, string DocumentId, string DocumentName,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Page,
    IReadOnlyList<string> HeadingPath, string Text, double Score, double? RerankScore = null)
{
    public static PassageObject From(SearchHit h) =>
        new(h.ChunkId, h.KnowledgeBaseId, h.DocumentId, h.DocumentName, h.Page, h.HeadingPath, h.Text, h.Score, h.RerankScore);
}

internal sealed record SearchResults(string Object, string Mode, IReadOnlyList<PassageObject> Data);

/// <summary>One entry of a chat response's <c>citations</c>: passage [marker] of the prompt.</summary>
internal sealed record CitationObject(int Marker, string KnowledgeBase, string DocumentId, string DocumentName,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Page,
    string ChunkId, IReadOnlyList<string> HeadingPath, string Text, double Score)
{
    public static CitationObject From(Citation c) => new(c.Marker, c.KnowledgeBaseId, c.DocumentId, c.DocumentName, c.Page, c.ChunkId, c.HeadingPath, c.Text, c.Score);
}

/// <summary>OpenAI's chat.completion with the <c>citations</c> extension.</summary>
internal sealed record CitedChatCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage, string SystemFingerprint,
    IReadOnlyList<CitationObject> Citations);

/// <summary>The one extra stream chunk that carries the citations: no choices, like the usage chunk.</summary>
internal sealed record CitationsChunk(string Id, string Object, long Created, string Model, string SystemFingerprint, IReadOnlyList<ChatChunkChoice> Choices,
    IReadOnlyList<CitationObject> Citations);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateKnowledgeBaseRequest))]
[JsonSerializable(typeof(KnowledgeSearchRequest))]
[JsonSerializable(typeof(KnowledgeBaseObject))]
[JsonSerializable(typeof(KnowledgeBaseList))]
[JsonSerializable(typeof(DocumentObject))]
[JsonSerializable(typeof(DocumentList))]
[JsonSerializable(typeof(DeletedObject))]
[JsonSerializable(typeof(SearchResults))]
[JsonSerializable(typeof(CitedChatCompletion))]
[JsonSerializable(typeof(CitationsChunk))]
internal sealed partial class KnowledgeJsonContext : JsonSerializerContext;
