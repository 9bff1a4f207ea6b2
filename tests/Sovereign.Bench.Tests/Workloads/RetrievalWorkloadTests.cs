using Sovereign.Bench.Models;
using Sovereign.Bench.Workloads;

namespace Sovereign.Bench.Tests.Workloads;

/// <summary>
/// The retrieval workload for real at small sizes: a real SQLite index grown in two steps, real all-minilm query
/// embeddings, real PDF ingestion, the labelled set, and stories260K as the reranker over 6 candidates (its scores mean
/// nothing; that it ran, and over what, is checked; its character-sized tokens make it slow). Speed is never asserted.
/// </summary>
public sealed class RetrievalWorkloadTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Stories => Path.Combine(BenchModels.FindRepositoryRoot(AppContext.BaseDirectory)!, "..", "shared", "models", "stories260K.gguf");

    [Fact]
    public async Task Small_run_reports_latency_per_size_ingestion_pages_per_second_and_recall_at_5_with_the_reranker()
    {
        var steps = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var report = await RetrievalWorkload.RunAsync(new RetrievalSettings([300, 700], Queries: 6, MaxSecondsPerMode: 2, Documents: 2, PagesPerDocument: 2,
            RerankerPath: Stories, Threads: 1, RerankCandidates: 6), what =>
            {
                output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {what}");
                steps.Add(what);
            }, CancellationToken.None);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: done");

        Assert.True(report.Status == "measured" && report.Errors.Count == 0, string.Join("; ", report.Errors));
        Assert.Equal([300, 700], report.Search.Select(s => s.Chunks));
        Assert.Equal([2, 4], report.Search.Select(s => s.Documents)); // at most 250 chunks per document, grown in one index
        foreach (var size in report.Search)
        {
            foreach (var summary in new[] { size.VectorMs, size.FullTextMs, size.HybridMs, size.QueryEmbeddingMs })
            {
                Assert.NotNull(summary);
                Assert.Equal(6, summary.Count);
                Assert.True(summary.P50 > 0 && summary.P95 >= summary.P50);
            }
            Assert.True(size.IndexChunksPerSecond > 0);
        }
        Assert.Contains("random unit vectors", report.LatencyIndex, StringComparison.Ordinal);

        var ingestion = report.Ingestion!;
        Assert.Equal(2, ingestion.Documents);
        Assert.Equal(4, ingestion.Pages);
        Assert.True(ingestion.Chunks >= 4, $"{ingestion.Chunks} chunks");
        Assert.True(ingestion.PagesPerSecond > 0);

        var recall = report.Recall!;
        Assert.Equal(24, recall.Questions);
        Assert.Equal(24, recall.Passages);
        // The floors of RecallTests: the same set, model and search.
        Assert.True(recall.VectorRecallAt5 >= 0.6, $"vector {recall.VectorRecallAt5}");
        Assert.True(recall.FullTextRecallAt5 >= 0.4, $"fulltext {recall.FullTextRecallAt5}");
        Assert.True(recall.HybridRecallAt5 >= 0.6, $"hybrid {recall.HybridRecallAt5}");
        Assert.InRange(recall.HybridRerankRecallAt5!.Value, 0, 1);
        Assert.Equal("yes_no", recall.RerankMethod);
        Assert.Equal(6, recall.RerankCandidates);
        Assert.Equal(24, recall.HybridRerankMs!.Count);
        Assert.Equal(4, steps.Count);
    }

    [Fact]
    public async Task Without_a_reranker_there_is_no_reranked_figure()
    {
        var report = await RetrievalWorkload.RunAsync(new RetrievalSettings([200], 5, 1, 1, 1, RerankerPath: null, Threads: 1), _ => { }, CancellationToken.None);

        Assert.Equal("measured", report.Status);
        Assert.Null(report.Recall!.HybridRerankRecallAt5);
        Assert.Null(report.Recall.Reranker);
    }

    [Fact]
    public void Generated_chunks_and_queries_repeat_and_share_rare_terms()
    {
        Assert.Equal(RetrievalWorkload.ChunkText(7), RetrievalWorkload.ChunkText(7));
        Assert.NotEqual(RetrievalWorkload.ChunkText(7), RetrievalWorkload.ChunkText(8));
        Assert.Equal(RetrievalWorkload.Query(3, 100), RetrievalWorkload.Query(3, 100));
        Assert.Matches(@"^term\d+ term\d+ \w+ \w+$", RetrievalWorkload.Query(3, 100));
        Assert.Equal(6, RetrievalWorkload.ChunkText(1).Split(' ').Count(w => w.StartsWith("term", StringComparison.Ordinal)));
    }
}
