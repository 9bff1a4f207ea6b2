using System.ComponentModel.DataAnnotations;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Knowledge;

/// <summary>
/// Knowledge-base settings, bound from <c>Sovereign:Knowledge</c> and validated at start-up. Every property names its
/// default.
/// </summary>
public sealed class KnowledgeOptions
{
    public const string Section = "Sovereign:Knowledge";

    /// <summary>Largest single uploaded file in bytes; larger uploads get 413. Default 64 MiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most files in one upload request. Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxFilesPerUpload { get; set; } = 100;

    /// <summary>
    /// The embedding model new knowledge bases use when their creator names none (null: the embedding service's
    /// built-in default). A knowledge base keeps the model it was created with.
    /// </summary>
    public string? EmbeddingModel { get; set; }

    /// <summary>Chunks embedded per call to the embedding service. Default 32.</summary>
    [Range(1, 1024)]
    public int EmbeddingBatchSize { get; set; } = 32;

    /// <summary>Token budget of one chunk. Default 256.</summary>
    [Range(16, 8192)]
    public int ChunkTokens { get; set; } = 256;

    /// <summary>Tokens shared by neighbouring chunks. Default 32.</summary>
    [Range(0, 4096)]
    public int ChunkOverlapTokens { get; set; } = 32;

    /// <summary>Documents ingested at once. Default 1 (ingestion is CPU-bound; more rarely helps a small machine).</summary>
    [Range(1, 64)]
    public int MaxConcurrentIngestions { get; set; } = 1;

    /// <summary>Tries an interrupted ingestion gets (a restart counts as one) before it is marked failed. Default 3.</summary>
    [Range(1, 100)]
    public int MaxIngestionAttempts { get; set; } = 3;

    /// <summary>
    /// With a shared PostgreSQL database: how long a node's claim on a running ingestion job lasts without a progress
    /// report. A job whose node died is taken up by another node once its lease runs out. Default 10 minutes.
    /// </summary>
    public TimeSpan JobLease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often the ingestion worker looks in the database for jobs it was not told about (queued through another node,
    /// or left by a node that died). Default 30 seconds.
    /// </summary>
    public TimeSpan JobScanInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// In cluster mode with a shared PostgreSQL database: how many partitions a knowledge base's vectors are split into,
    /// each held in memory by a grain the cluster places on one of its nodes and searched in parallel. Default 4.
    /// </summary>
    [Range(1, 256)]
    public int VectorPartitions { get; set; } = 4;

    /// <summary>
    /// With a shared PostgreSQL database: whether vector search runs in the database through the pgvector extension
    /// when the server has it (<c>auto</c>, the default: the extension is created and used) or always in memory
    /// across <see cref="VectorPartitions"/> (<c>off</c>). Both are exact and give the same results.
    /// </summary>
    public PgvectorMode Pgvector { get; set; } = PgvectorMode.Auto;

    /// <summary>
    /// A GGUF model in the model store (name[:tag], as imported with <c>sov models import</c>) that reorders the first
    /// <see cref="RerankCandidates"/> passages of every search before the best <c>top_k</c> are kept. A model with rank
    /// pooling (bge-reranker style) scores with its classifier; any other model is asked whether the passage answers
    /// the query and scores by P("yes") (Qwen3-Reranker style). Null (the default): no reranking. A name missing from
    /// the store is refused at start-up.
    /// </summary>
    public string? Reranker { get; set; }

    /// <summary>
    /// Passages of the first stage that the reranker scores (when one is set; at least <c>top_k</c> are). Default 30, at
    /// most 100: each costs a model pass.
    /// </summary>
    [Range(1, 100)]
    public int RerankCandidates { get; set; } = 30;

    /// <summary>Tokens of one passage the reranker reads; the rest is cut. Default 512.</summary>
    [Range(16, 8192)]
    public int RerankMaxPassageTokens { get; set; } = 512;

    /// <summary>Size, page, pixel and time limits of extraction (see <see cref="ExtractionLimits"/>).</summary>
    public ExtractionLimitsOptions Limits { get; set; } = new();

    public ExtractionLimits ToExtractionLimits() => new()
    {
        MaxBytes = MaxUploadBytes,
        MaxPages = Limits.MaxPages,
        MaxPixels = Limits.MaxPixels,
        MaxUncompressedBytes = Limits.MaxUncompressedBytes,
        MaxTime = Limits.MaxTime,
        OcrLanguages = Limits.OcrLanguages,
    };
}

/// <summary>Bindable form of <see cref="ExtractionLimits"/>; the defaults are the same.</summary>
public sealed class ExtractionLimitsOptions
{
    private static readonly ExtractionLimits Defaults = new();

    /// <summary>Pages of one document. Default 2,000.</summary>
    [Range(1, 1_000_000)]
    public int MaxPages { get; set; } = Defaults.MaxPages;

    /// <summary>Width × height of one image. Default 50,000,000.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = Defaults.MaxPixels;

    /// <summary>What a container (DOCX) may inflate to. Default 256 MiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUncompressedBytes { get; set; } = Defaults.MaxUncompressedBytes;

    /// <summary>Time one extraction may take. Default 5 minutes.</summary>
    public TimeSpan MaxTime { get; set; } = Defaults.MaxTime;

    /// <summary>Tesseract language packs. Default eng+fas+ara.</summary>
    [Required]
    public string OcrLanguages { get; set; } = Defaults.OcrLanguages;
}

/// <summary>See <see cref="KnowledgeOptions.Pgvector"/>.</summary>
public enum PgvectorMode
{
    /// <summary>Use pgvector when the database server offers it.</summary>
    Auto,

    /// <summary>Never use it (nor create the extension): vectors are searched in memory.</summary>
    Off,
}
