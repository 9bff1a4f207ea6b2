using Sovereign.Core.Embeddings;
using Sovereign.Core.Errors;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Retrieval;

/// <summary>
/// <see cref="IKnowledgeSearch"/> over the index. Thread-safe.
/// <list type="number">
/// <item>Check the query and find every named knowledge base of the tenant (404 when one is missing).</item>
/// <item>Full text: BM25 candidates from each base, merged by score.</item>
/// <item>Vector: the query embedded once per embedding model, exact cosine candidates from each base, merged by score.</item>
/// <item>Hybrid: the two lists fused by reciprocal rank fusion; otherwise the one list asked for.</item>
/// <item>The best <c>top_k</c> are read back with what a citation needs; with a reranker, the best
/// <c>max(top_k, rerankCandidates)</c> are, the reranker scores each against the query, and its best <c>top_k</c> are
/// kept (ties keep the first stage's order).</item>
/// </list>
/// </summary>
/// <param name="reranker">Reorders the first stage's best passages; null (the default) keeps the first stage's order.</param>
/// <param name="rerankCandidates">How many of the first stage's passages the reranker scores.</param>
public sealed class HybridSearch(IKnowledgeStore store, IKnowledgeIndex index, IEmbeddingService embeddings,
    IPassageReranker? reranker = null, int rerankCandidates = HybridSearch.DefaultRerankCandidates) : IKnowledgeSearch
{
    public const int MaxTopK = 100;
    public const int MaxQueryChars = 8_000;
    public const int DefaultRerankCandidates = 30;

    /// <summary>Candidates each list contributes before fusion, per requested passage (and at least <see cref="MinCandidates"/>).</summary>
    private const int CandidatesPerResult = 4;
    private const int MinCandidates = 20;

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(SearchQuery query, CancellationToken cancellationToken = default)
    {
        // :: Step 1
        ArgumentNullException.ThrowIfNull(query);
        if (string.IsNullOrWhiteSpace(query.Text)) throw SovereignException.Invalid("The query is empty.", "query", "empty_query");
        if (query.Text.Length > MaxQueryChars) throw SovereignException.Invalid($"The query is longer than {MaxQueryChars} characters.", "query", "query_too_long");
        if (query.TopK is < 1 or > MaxTopK) throw SovereignException.Invalid($"top_k must be between 1 and {MaxTopK}, got {query.TopK}.", "top_k", "invalid_value");
        if (query.KnowledgeBases.Count == 0) throw SovereignException.Invalid("Name at least one knowledge base.", "knowledge_bases", "missing_required_parameter");

        var bases = new List<KnowledgeBase>();
        foreach (var name in query.KnowledgeBases.Distinct(StringComparer.Ordinal))
        {
            bases.Add(await store.FindBaseAsync(name, cancellationToken)
                ?? throw SovereignException.NotFound($"No knowledge base '{name}'.", "knowledge_bases", "knowledge_base_not_found"));
        }
        IReadOnlySet<string>? documents = query.DocumentIds is { Count: > 0 } ids ? ids.ToHashSet(StringComparer.Ordinal) : null;
        // What the first stage hands on: top_k, or the reranker's candidates (bounded like top_k, since each costs a model pass).
        var keep = reranker is null ? query.TopK : Math.Max(query.TopK, Math.Clamp(rerankCandidates, 1, MaxTopK));
        var candidates = Math.Max(Math.Max(MinCandidates, keep), query.TopK * CandidatesPerResult);

        // :: Step 2
        IReadOnlyList<ChunkMatch> fullText = [];
        if (query.Mode != SearchMode.Vector)
        {
            var lists = new List<ChunkMatch>();
            foreach (var kb in bases) lists.AddRange(await index.FullTextSearchAsync(kb.Id, query.Text, candidates, documents, cancellationToken));
            fullText = [.. lists.OrderByDescending(m => m.Score).Take(candidates)];
        }

        // :: Step 3
        IReadOnlyList<ChunkMatch> vector = [];
        if (query.Mode != SearchMode.FullText)
        {
            var lists = new List<ChunkMatch>();
            foreach (var group in bases.GroupBy(b => b.EmbeddingModel, StringComparer.Ordinal))
            {
                var embedded = await embeddings.EmbedTruncatingAsync(group.Key, [query.Text], cancellationToken);
                var q = embedded.Vectors[0];
                foreach (var kb in group) lists.AddRange(await index.VectorSearchAsync(kb.Id, q, candidates, documents, cancellationToken));
            }
            vector = [.. lists.OrderByDescending(m => m.Score).Take(candidates)];
        }

        // :: Step 4
        var ranked = query.Mode switch
        {
            SearchMode.Vector => vector.Take(keep).ToList(),
            SearchMode.FullText => fullText.Take(keep).ToList(),
            _ => ReciprocalRankFusion.Fuse([fullText, vector], keep),
        };

        // :: Step 5
        var chunks = await index.GetChunksAsync([.. ranked.Select(m => m.Key)], cancellationToken);
        var scores = ranked.ToDictionary(m => m.Key, m => m.Score);
        var hits = chunks.Select(c => new SearchHit(c.KnowledgeBaseId, c.DocumentId, c.DocumentName, c.Id, c.Text, c.Page, c.HeadingPath, scores[c.Key]));
        if (reranker is null || chunks.Count == 0) return [.. hits];

        var reranked = await reranker.ScoreAsync(query.Text, [.. chunks.Select(c => c.Text)], cancellationToken);
        if (reranked.Count != chunks.Count)
            throw new InvalidOperationException($"The reranker returned {reranked.Count} scores for {chunks.Count} passages.");
        // OrderByDescending is stable: equal rerank scores keep the first stage's order.
        return [.. hits.Select((h, i) => h with { RerankScore = reranked[i] }).OrderByDescending(h => h.RerankScore).Take(query.TopK)];
    }
}
