using System.Text.Json.Serialization;
using Sovereign.Bench.Stats;

namespace Sovereign.Bench.Reporting;

/// <summary>
/// The retrieval workload (<see cref="Workloads.RetrievalWorkload"/>): search latency by index size, ingestion speed,
/// and recall@5 on the labelled set. Measured in the benchmark process against the knowledge code itself (SQLite index,
/// built-in all-minilm), not through a server.
/// </summary>
public sealed record RetrievalReport
{
    /// <summary>"measured", "failed" (nothing could be measured; see errors) or "not_available" (see reason).</summary>
    public required string Status { get; init; }
    public string? Reason { get; init; }
    /// <summary>How the latency index was filled (synthetic texts, random unit vectors; see <see cref="RetrievalLatency"/>).</summary>
    public string? LatencyIndex { get; init; }
    /// <summary>Search latency at each index size, smallest first.</summary>
    public List<RetrievalLatency> Search { get; init; } = [];
    public IngestionResult? Ingestion { get; set; }
    public RecallResult? Recall { get; set; }
    public List<string> Errors { get; init; } = [];

    public static RetrievalReport NotAvailable(string reason) => new() { Status = "not_available", Reason = reason };
}

/// <summary>One index size: time to fill it, then search latency per mode (one query at a time, milliseconds).</summary>
public sealed record RetrievalLatency
{
    public required int Chunks { get; init; }
    public required int Documents { get; init; }
    /// <summary>Chunks written to the index per second while it was filled (SQLite rows, FTS5 and vectors; no embedding).</summary>
    public double? IndexChunksPerSecond { get; init; }
    /// <summary>Whole search: the query embedded with all-minilm, BM25 and/or exact cosine, fusion, passages read back.</summary>
    public Summary? VectorMs { get; init; }
    public Summary? FullTextMs { get; init; }
    public Summary? HybridMs { get; init; }
    /// <summary>Embedding the query alone (part of vector and hybrid times).</summary>
    public Summary? QueryEmbeddingMs { get; init; }
}

/// <summary>Documents ingested end to end: PDF extraction, chunking, all-minilm embedding, indexing.</summary>
public sealed record IngestionResult
{
    public required int Documents { get; init; }
    public required int Pages { get; init; }
    public required int Chunks { get; init; }
    public required double Seconds { get; init; }
    public double? PagesPerSecond { get; init; }
    public double? ChunksPerSecond { get; init; }
}

/// <summary>recall@5 (share of questions whose answering passage is among the first five) on the labelled set.</summary>
public sealed record RecallResult
{
    public required int Questions { get; init; }
    public required int Passages { get; init; }
    public required string EmbeddingModel { get; init; }
    [JsonPropertyName("vector_recall_at_5")]
    public double? VectorRecallAt5 { get; init; }
    [JsonPropertyName("fulltext_recall_at_5")]
    public double? FullTextRecallAt5 { get; init; }
    [JsonPropertyName("hybrid_recall_at_5")]
    public double? HybridRecallAt5 { get; init; }
    /// <summary>Hybrid, then the reranker over the first <see cref="RerankCandidates"/>; null without --reranker.</summary>
    [JsonPropertyName("hybrid_rerank_recall_at_5")]
    public double? HybridRerankRecallAt5 { get; init; }
    /// <summary>The reranker model file (--reranker); null when none was given.</summary>
    public string? Reranker { get; init; }
    /// <summary>"rank" (the model has rank pooling) or "yes_no" (P("yes") of a causal model).</summary>
    public string? RerankMethod { get; init; }
    public int? RerankCandidates { get; init; }
    /// <summary>Whole reranked searches, milliseconds (first stage plus the reranker over the candidates).</summary>
    public Summary? HybridRerankMs { get; init; }
}
