using System.Text.Json;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge.Tests.Retrieval;

/// <summary>
/// Search with a reranker: the real stories260K engine scores the first stage's best passages (yes/no method) and its
/// scores decide the order. Indexed from the labelled set with the real MiniLM model.
/// </summary>
public sealed class RerankingTests : IAsyncLifetime, IDisposable
{
    private const string Question = "When can visitors come to see a patient?";

    private readonly KnowledgeTestBed _bed = new();
    private readonly EngineReranker _reranker = new();
    private KnowledgeBase _kb = null!;

    public async Task InitializeAsync()
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Retrieval", "recall-set.json")));
        var passages = json.RootElement.GetProperty("passages").EnumerateArray().Take(12)
            .Select(p => (Id: p.GetProperty("id").GetString()!, Text: p.GetProperty("text").GetString()!)).ToList();
        _kb = await _bed.Store.CreateBaseAsync("handbook", null, _bed.Embeddings.DefaultModel);
        var vectors = await _bed.Embeddings.EmbedAsync(null, [.. passages.Select(p => p.Text)]);
        for (var i = 0; i < passages.Count; i++)
        {
            var doc = await _bed.AddDocumentAsync(_kb, passages[i].Id, "x"u8.ToArray());
            await _bed.Index.ReplaceDocumentAsync(_kb.Id, doc.Id, [new IndexedChunk(0, passages[i].Text, null, [], vectors.Vectors[i])]);
        }
    }

    [Theory]
    [InlineData(SearchMode.Hybrid)]
    [InlineData(SearchMode.Vector)]
    [InlineData(SearchMode.FullText)]
    public async Task The_reranker_scores_the_first_stage_candidates_against_the_query_and_its_scores_set_the_order(SearchMode mode)
    {
        var firstStage = await Search(null, 6, mode);
        var reranked = await Search(_reranker, 3, mode, candidates: 6);

        var call = Assert.Single(_reranker.Calls);
        Assert.Equal(Question, call.Query);
        Assert.Equal(firstStage.Select(h => h.Text), call.Passages);
        // The best three by the reranker's scores, in its order, ties in the first stage's order.
        var expected = call.Passages.Select((text, i) => (text, score: call.Scores[i])).OrderByDescending(p => p.score).Take(3).ToList();
        Assert.Equal(expected.Select(p => p.text), reranked.Select(h => h.Text));
        Assert.Equal(expected.Select(p => (double?)p.score), reranked.Select(h => h.RerankScore));
        Assert.All(reranked, h => Assert.InRange(h.RerankScore!.Value, 0, 1));
        // score stays the first stage's.
        Assert.All(reranked, h => Assert.Equal(firstStage.Single(f => f.ChunkId == h.ChunkId).Score, h.Score));
    }

    [Fact]
    public async Task The_reranker_sees_the_configured_number_of_candidates_and_at_least_top_k()
    {
        await Search(_reranker, 2, SearchMode.Hybrid, candidates: 4);
        await Search(_reranker, 7, SearchMode.Hybrid, candidates: 4);

        Assert.Equal([4, 7], _reranker.Calls.Select(c => c.Passages.Count));
    }

    [Fact]
    public async Task Search_without_a_reranker_is_the_first_stage_alone_with_no_rerank_score()
    {
        var plain = await Search(null, 5, SearchMode.Hybrid);
        var firstFiveOfMore = (await Search(null, 8, SearchMode.Hybrid)).Take(5);

        Assert.Equal(5, plain.Count);
        Assert.All(plain, h => Assert.Null(h.RerankScore));
        Assert.Equal(firstFiveOfMore.Select(h => h.ChunkId), plain.Select(h => h.ChunkId));
        Assert.Empty(_reranker.Calls);
    }

    [Fact]
    public async Task A_cancelled_search_does_not_run_the_reranker_to_the_end()
    {
        using var cts = new CancellationTokenSource();
        var search = new HybridSearch(_bed.Store, _bed.Index, _bed.Embeddings, new CancellingReranker(cts, _reranker), rerankCandidates: 6);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search.SearchAsync(new SearchQuery([_kb.Name], Question, TopK: 3), cts.Token));
        Assert.Empty(_reranker.Calls);
    }

    private Task<IReadOnlyList<SearchHit>> Search(IPassageReranker? reranker, int topK, SearchMode mode, int candidates = HybridSearch.DefaultRerankCandidates) =>
        new HybridSearch(_bed.Store, _bed.Index, _bed.Embeddings, reranker, candidates).SearchAsync(new SearchQuery([_kb.Name], Question, topK, Mode: mode));

    /// <summary>Cancels the search as reranking starts (a client that gave up), then lets the real reranker see the token.</summary>
    private sealed class CancellingReranker(CancellationTokenSource cts, IPassageReranker inner) : IPassageReranker
    {
        public string Model => inner.Model;

        public Task<IReadOnlyList<double>> ScoreAsync(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken)
        {
            cts.Cancel();
            return inner.ScoreAsync(query, passages, cancellationToken);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _reranker.Dispose();
        _bed.Dispose();
    }
}
