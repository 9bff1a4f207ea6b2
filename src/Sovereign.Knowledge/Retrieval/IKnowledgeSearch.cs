namespace Sovereign.Knowledge.Retrieval;

/// <summary>
/// Hybrid retrieval over one tenant's knowledge bases (full-text and vector results fused by reciprocal rank fusion).
/// The tenant comes from <see cref="Core.Tenancy.TenantScope"/>; a knowledge base of another tenant is "not found".
/// Used by the search API, by chat answers with citations, and by the agents' knowledge-search tool.
/// </summary>
public interface IKnowledgeSearch
{
    Task<IReadOnlyList<SearchHit>> SearchAsync(SearchQuery query, CancellationToken cancellationToken = default);
}

/// <param name="KnowledgeBases">Ids or names of the knowledge bases to search (at least one).</param>
/// <param name="Text">The question or query text.</param>
/// <param name="TopK">How many passages to return.</param>
/// <param name="DocumentIds">When set, only passages of these documents.</param>
/// <param name="Mode">hybrid (default), vector or fulltext.</param>
public sealed record SearchQuery(IReadOnlyList<string> KnowledgeBases, string Text, int TopK = 5, IReadOnlyList<string>? DocumentIds = null, SearchMode Mode = SearchMode.Hybrid);

public enum SearchMode
{
    Hybrid,
    Vector,
    FullText,
}

/// <summary>One retrieved passage with what a citation needs.</summary>
/// <param name="Score">The first stage's score: fused RRF score (hybrid), cosine similarity (vector) or BM25 (full text).</param>
/// <param name="RerankScore">The reranker's relevance score in (0, 1) when a reranker ordered the results; null otherwise.</param>
public sealed record SearchHit(
    string KnowledgeBaseId,
    string DocumentId,
    string DocumentName,
    string ChunkId,
    string Text,
    int? Page,
    IReadOnlyList<string> HeadingPath,
    double Score,
    double? RerankScore = null);
