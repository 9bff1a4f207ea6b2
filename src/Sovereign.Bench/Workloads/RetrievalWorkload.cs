using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Sovereign.Bench.Reporting;
using Sovereign.Bench.Stats;
using Sovereign.Core.Options;
using Sovereign.Core.Tenancy;
using Sovereign.Data;
using Sovereign.Inference.Embeddings;
using Sovereign.Inference.Engine;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Chunking;
using Sovereign.Knowledge.Extraction;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Sovereign.Bench.Workloads;

/// <param name="Sizes">Index sizes (chunks) whose search latency is measured, in increasing order.</param>
/// <param name="Queries">Timed queries per mode and size (after a warm-up); fewer when <paramref name="MaxSecondsPerMode"/> runs out.</param>
/// <param name="MaxSecondsPerMode">Time one mode's queries may take at one size.</param>
/// <param name="Documents">Generated PDF documents of the ingestion measurement.</param>
/// <param name="PagesPerDocument">Pages of each.</param>
/// <param name="RerankerPath">A GGUF model that reranks for the hybrid+rerank recall figure; null for none.</param>
/// <param name="Threads">CPU threads of the reranker's engine (0 = every core).</param>
/// <param name="RerankCandidates">Hybrid results the reranker scores per question.</param>
internal sealed record RetrievalSettings(IReadOnlyList<int> Sizes, int Queries, double MaxSecondsPerMode, int Documents, int PagesPerDocument,
    string? RerankerPath, int Threads, int RerankCandidates = RetrievalWorkload.DefaultRerankCandidates);

/// <summary>
/// Retrieval figures (issue 9 and issue 4), measured against the knowledge code in this process, in a throw-away SQLite
/// database:
/// <list type="number">
/// <item>Search latency at each index size: the index is filled with synthetic chunks (about 60 words: story words and
/// a few of 50,000 rare terms, so BM25 has selective words to find) and random unit vectors of all-minilm's 384
/// dimensions, not real embeddings, which at 100,000 chunks would take hours on a small CPU; exact cosine search costs
/// the same either way. Queries are real searches: the query is embedded with all-minilm, as in the server. One query at
/// a time, p50/p95 per mode. Sizes grow in one database (10,000, then 90,000 more).</item>
/// <item>Ingestion: generated PDFs (text layer) through the real pipeline (extraction, chunking, all-minilm embedding,
/// indexing); pages per second.</item>
/// <item>recall@5 on the labelled set (recall-set.json): each passage one chunk, real all-minilm embeddings, every
/// question in vector, full-text and hybrid mode, and hybrid with the reranker when one is given.</item>
/// </list>
/// A step that fails is recorded in errors and the others still run.
/// </summary>
internal static class RetrievalWorkload
{
    public const int RareTerms = 50_000;
    public const int ChunksPerDocument = 250;
    public const int DefaultRerankCandidates = 20;
    private const int WarmUpQueries = 3;

    public static async Task<RetrievalReport> RunAsync(RetrievalSettings settings, Action<string> step, CancellationToken cancellationToken)
    {
        var home = Directory.CreateTempSubdirectory("sov-bench-retrieval-").FullName;
        var report = new RetrievalReport
        {
            Status = "measured",
            LatencyIndex = string.Create(CultureInfo.InvariantCulture,
                $"synthetic chunks of about 60 words (story words and {RareTerms:N0} rare terms), random unit vectors of {EmbeddingModels.MiniLmDimensions} dimensions (not real embeddings: the cost of exact search is the same); queries embedded with {EmbeddingModels.MiniLm}"),
        };
        try
        {
            using var tenant = TenantScope.Enter(TenantScope.DefaultTenant);
            using var database = new SqliteDatabase(new SovereignPaths(home), [KnowledgeSchema.Module]);
            database.Migrate();
            var store = new SqliteKnowledgeStore(database, TimeProvider.System);
            var index = new SqliteKnowledgeIndex(database);
            var embeddings = new EmbeddingService(Microsoft.Extensions.Options.Options.Create(new EmbeddingOptions()));

            // :: Step 1: search latency by index size.
            try
            {
                await MeasureLatencyAsync(report, settings, store, index, embeddings, step, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                report.Errors.Add($"search latency: {e.Message}");
            }

            // :: Step 2: ingestion.
            step($"retrieval: ingesting {settings.Documents} generated PDFs of {settings.PagesPerDocument} pages");
            try
            {
                report.Ingestion = await MeasureIngestionAsync(settings, home, store, index, embeddings, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                report.Errors.Add($"ingestion: {e.Message}");
            }

            // :: Step 3: recall@5.
            step(settings.RerankerPath is null ? "retrieval: recall@5 on the labelled set" : "retrieval: recall@5 on the labelled set, with and without the reranker");
            try
            {
                report.Recall = await MeasureRecallAsync(settings, report.Errors, store, index, embeddings, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                report.Errors.Add($"recall: {e.Message}");
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(home, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        if (report.Search.Count == 0 && report.Ingestion is null && report.Recall is null)
            return report with { Status = "failed", Reason = string.Join("; ", report.Errors) };
        return report;
    }

    private static async Task MeasureLatencyAsync(RetrievalReport report, RetrievalSettings settings, SqliteKnowledgeStore store, SqliteKnowledgeIndex index,
        EmbeddingService embeddings, Action<string> step, CancellationToken cancellationToken)
    {
        var kb = await store.CreateBaseAsync("latency", null, EmbeddingModels.MiniLm, cancellationToken).ConfigureAwait(false);
        var filled = 0;
        var documents = 0;
        var rng = new Random(20_260_101);
        foreach (var size in settings.Sizes)
        {
            step(string.Create(CultureInfo.InvariantCulture, $"retrieval: filling the index to {size:N0} chunks, then search p50/p95"));
            var clock = Stopwatch.StartNew();
            var added = 0;
            while (filled < size)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(ChunksPerDocument, size - filled);
                var doc = await store.AddDocumentAsync(new NewDocument(KnowledgeIds.NewDocumentId(), kb.Id, $"synthetic-{documents}.txt", "(generated)",
                    new string('0', 64), 0, "text/plain"), cancellationToken).ConfigureAwait(false);
                var chunks = new IndexedChunk[count];
                for (var i = 0; i < count; i++)
                    chunks[i] = new IndexedChunk(i, ChunkText(filled + i), null, [], RandomUnitVector(rng));
                await index.ReplaceDocumentAsync(kb.Id, doc.Id, chunks, cancellationToken).ConfigureAwait(false);
                filled += count;
                added += count;
                documents++;
            }
            var indexSeconds = clock.Elapsed.TotalSeconds;

            var search = new HybridSearch(store, index, embeddings);
            var results = new Dictionary<SearchMode, Summary?>();
            foreach (var mode in new[] { SearchMode.Vector, SearchMode.FullText, SearchMode.Hybrid })
            {
                for (var w = 0; w < WarmUpQueries; w++)
                    await search.SearchAsync(new SearchQuery([kb.Id], Query(1_000_000 + w, filled), 5, Mode: mode), cancellationToken).ConfigureAwait(false);
                var times = new List<double>();
                var modeClock = Stopwatch.StartNew();
                while (times.Count < settings.Queries && (times.Count < 5 || modeClock.Elapsed.TotalSeconds < settings.MaxSecondsPerMode))
                {
                    var started = Stopwatch.GetTimestamp();
                    var hits = await search.SearchAsync(new SearchQuery([kb.Id], Query(times.Count, filled), 5, Mode: mode), cancellationToken).ConfigureAwait(false);
                    times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    if (hits.Count == 0) throw new InvalidOperationException($"A {mode} search over {size} chunks found nothing.");
                }
                results[mode] = Summary.Of(times);
            }
            var embedTimes = new List<double>();
            for (var q = 0; q < Math.Min(settings.Queries, 50); q++)
            {
                var started = Stopwatch.GetTimestamp();
                await embeddings.EmbedAsync(null, [Query(q, filled)], cancellationToken).ConfigureAwait(false);
                embedTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            report.Search.Add(new RetrievalLatency
            {
                Chunks = filled,
                Documents = documents,
                IndexChunksPerSecond = Statistics.Rate(added, indexSeconds),
                VectorMs = results[SearchMode.Vector],
                FullTextMs = results[SearchMode.FullText],
                HybridMs = results[SearchMode.Hybrid],
                QueryEmbeddingMs = Summary.Of(embedTimes),
            });
        }
    }

    /// <summary>About 60 words: story text and 6 rare terms, the same for the same ordinal.</summary>
    internal static string ChunkText(int ordinal)
    {
        var seed = WorkloadGenerator.SeedFor("retrieval-chunk", ordinal);
        var rng = new Random(unchecked((int)seed));
        var text = new StringBuilder(WorkloadGenerator.Text(seed, 54));
        for (var i = 0; i < 6; i++) text.Append(" term").Append(rng.Next(RareTerms).ToString(CultureInfo.InvariantCulture));
        return text.ToString();
    }

    /// <summary>
    /// Two rare terms of one indexed chunk (of the first <paramref name="chunks"/>) and two story words: selective enough
    /// for BM25 yet always matching something, like a real question, and text for the embedding model.
    /// </summary>
    internal static string Query(int ordinal, int chunks)
    {
        var rng = new Random(unchecked((int)WorkloadGenerator.SeedFor("retrieval-query", ordinal)));
        var words = ChunkText(rng.Next(chunks)).Split(' ');
        var terms = words.Where(w => w.StartsWith("term", StringComparison.Ordinal)).ToArray();
        return $"{terms[rng.Next(terms.Length)]} {terms[rng.Next(terms.Length)]} {words[rng.Next(words.Length - terms.Length)].TrimEnd('.')} {words[rng.Next(words.Length - terms.Length)].TrimEnd('.')}";
    }

    private static float[] RandomUnitVector(Random rng)
    {
        var v = new float[EmbeddingModels.MiniLmDimensions];
        double sum = 0;
        for (var i = 0; i < v.Length; i++)
        {
            // Box-Muller: Gaussian components make the direction uniform on the sphere.
            var g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            v[i] = (float)g;
            sum += g * g;
        }
        var scale = (float)(1 / Math.Sqrt(sum));
        for (var i = 0; i < v.Length; i++) v[i] *= scale;
        return v;
    }

    private static async Task<IngestionResult> MeasureIngestionAsync(RetrievalSettings settings, string home, SqliteKnowledgeStore store, SqliteKnowledgeIndex index,
        EmbeddingService embeddings, CancellationToken cancellationToken)
    {
        var kb = await store.CreateBaseAsync("ingestion", null, EmbeddingModels.MiniLm, cancellationToken).ConfigureAwait(false);
        var folder = Directory.CreateDirectory(Path.Combine(home, "pdfs")).FullName;
        var jobs = new List<PendingJob>();
        for (var d = 0; d < settings.Documents; d++)
        {
            var path = Path.Combine(folder, $"report-{d}.pdf");
            var bytes = Pdf(d, settings.PagesPerDocument);
            await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
            var doc = await store.AddDocumentAsync(new NewDocument(KnowledgeIds.NewDocumentId(), kb.Id, Path.GetFileName(path), path,
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), bytes.Length, "application/pdf"), cancellationToken).ConfigureAwait(false);
            jobs.Add(new PendingJob(TenantScope.DefaultTenant, kb.Id, doc.Id));
        }
        var pipeline = new IngestionPipeline(store, index, new DocumentExtractor(), new StructuredChunker(new ApproximateTokenCounter()), embeddings,
            new OriginalStore(new SovereignPaths(home)), Microsoft.Extensions.Options.Options.Create(new KnowledgeOptions()), NullLogger<IngestionPipeline>.Instance);

        // One at a time, as the server does by default (MaxConcurrentIngestions 1).
        var clock = Stopwatch.StartNew();
        foreach (var job in jobs) await pipeline.RunAsync(job, cancellationToken).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;

        var docs = await store.ListDocumentsAsync(kb.Id, cancellationToken).ConfigureAwait(false);
        if (docs.FirstOrDefault(d => d.Status != DocumentStatus.Ready) is { } failed)
            throw new InvalidOperationException($"{failed.Name} was not ingested: {failed.Error ?? failed.Status.ToString()}");
        var pages = docs.Sum(d => d.Pages ?? 0);
        var chunks = docs.Sum(d => d.ChunkCount);
        return new IngestionResult
        {
            Documents = docs.Count,
            Pages = pages,
            Chunks = chunks,
            Seconds = seconds,
            PagesPerSecond = Statistics.Rate(pages, seconds),
            ChunksPerSecond = Statistics.Rate(chunks, seconds),
        };
    }

    /// <summary>A PDF with a text layer: <paramref name="pages"/> pages of 40 lines of about 11 words (a dense report page).</summary>
    internal static byte[] Pdf(int document, int pages)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        for (var p = 0; p < pages; p++)
        {
            var page = builder.AddPage(PageSize.A4);
            var y = 790.0;
            for (var line = 0; line < 40; line++)
            {
                page.AddText(WorkloadGenerator.Text(WorkloadGenerator.SeedFor($"retrieval-pdf-{document}-{p}", line), 11), 10, new PdfPoint(40, y), font);
                y -= 18;
            }
        }
        return builder.Build();
    }

    private static async Task<RecallResult> MeasureRecallAsync(RetrievalSettings settings, List<string> errors, SqliteKnowledgeStore store, SqliteKnowledgeIndex index,
        EmbeddingService embeddings, CancellationToken cancellationToken)
    {
        var (passages, questions) = LabelledSet();
        var kb = await store.CreateBaseAsync("recall", null, EmbeddingModels.MiniLm, cancellationToken).ConfigureAwait(false);
        var vectors = await embeddings.EmbedAsync(null, [.. passages.Select(p => p.Text)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < passages.Count; i++)
        {
            // One document per passage, named by its label, so a hit's document name says which passage it is.
            var doc = await store.AddDocumentAsync(new NewDocument(KnowledgeIds.NewDocumentId(), kb.Id, passages[i].Id, "(labelled set)", new string('0', 64), 0, "text/plain"),
                cancellationToken).ConfigureAwait(false);
            await index.ReplaceDocumentAsync(kb.Id, doc.Id, [new IndexedChunk(0, passages[i].Text, null, [], vectors.Vectors[i])], cancellationToken).ConfigureAwait(false);
        }

        async Task<(double Recall, List<double> Ms)> RecallAsync(HybridSearch search, SearchMode mode)
        {
            var found = 0;
            var ms = new List<double>();
            foreach (var (text, answer) in questions)
            {
                var started = Stopwatch.GetTimestamp();
                var hits = await search.SearchAsync(new SearchQuery([kb.Id], text, 5, Mode: mode), cancellationToken).ConfigureAwait(false);
                ms.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (hits.Any(h => h.DocumentName == answer)) found++;
            }
            return ((double)found / questions.Count, ms);
        }

        var plain = new HybridSearch(store, index, embeddings);
        var result = new RecallResult
        {
            Questions = questions.Count,
            Passages = passages.Count,
            EmbeddingModel = EmbeddingModels.MiniLm,
            VectorRecallAt5 = (await RecallAsync(plain, SearchMode.Vector).ConfigureAwait(false)).Recall,
            FullTextRecallAt5 = (await RecallAsync(plain, SearchMode.FullText).ConfigureAwait(false)).Recall,
            HybridRecallAt5 = (await RecallAsync(plain, SearchMode.Hybrid).ConfigureAwait(false)).Recall,
        };
        if (settings.RerankerPath is not { } rerankerPath) return result;

        try
        {
            using var reranker = new EngineReranker(rerankerPath, settings.Threads);
            var (recall, ms) = await RecallAsync(new HybridSearch(store, index, embeddings, reranker, settings.RerankCandidates), SearchMode.Hybrid).ConfigureAwait(false);
            return result with
            {
                HybridRerankRecallAt5 = recall,
                Reranker = rerankerPath,
                RerankMethod = reranker.Method,
                RerankCandidates = settings.RerankCandidates,
                HybridRerankMs = Summary.Of(ms),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            errors.Add($"reranker: {e.Message}");
            return result with { Reranker = rerankerPath };
        }
    }

    /// <summary>The labelled set: passages (id, text) and questions (text, id of the passage that answers it).</summary>
    internal static (List<(string Id, string Text)> Passages, List<(string Question, string Answer)> Questions) LabelledSet()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("recall-set.json")
            ?? throw new InvalidOperationException("The labelled set (recall-set.json) is not embedded in this build.");
        using var json = JsonDocument.Parse(stream);
        var passages = json.RootElement.GetProperty("passages").EnumerateArray()
            .Select(p => (p.GetProperty("id").GetString()!, p.GetProperty("text").GetString()!)).ToList();
        var questions = json.RootElement.GetProperty("questions").EnumerateArray()
            .Select(q => (q.GetProperty("q").GetString()!, q.GetProperty("answer").GetString()!)).ToList();
        return (passages, questions);
    }

    /// <summary>A GGUF model loaded in this process as the reranker (the engine's own reranking, as a runner does it).</summary>
    private sealed class EngineReranker(string path, int threads) : IPassageReranker, IDisposable
    {
        private readonly LlamaEngine _engine = LlamaEngine.Load(new EngineSettings { ModelPath = path, Slots = 1, ContextSize = 1024, Threads = threads });

        public string Model => Path.GetFileName(path);

        public string? Method { get; private set; }

        public Task<IReadOnlyList<double>> ScoreAsync(string query, IReadOnlyList<string> passages, CancellationToken cancellationToken)
        {
            var result = _engine.Rerank(query, passages, new KnowledgeOptions().RerankMaxPassageTokens, cancellationToken);
            Method = result.Method;
            return Task.FromResult<IReadOnlyList<double>>([.. result.Scores.Select(s => (double)s)]);
        }

        public void Dispose() => _engine.Dispose();
    }
}
