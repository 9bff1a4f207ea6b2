using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sovereign.Core.Embeddings;
using Sovereign.Inference.Embeddings;
using Sovereign.Inference.Hosting;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;
using Sovereign.Models.Store;

namespace Sovereign.Knowledge;

public static class KnowledgeServiceCollectionExtensions
{
    /// <summary>
    /// Knowledge bases: the schema module, the store, the index, originals, ingestion jobs (a hosted worker) and hybrid
    /// search, reranked by the GGUF model <see cref="KnowledgeOptions.Reranker"/> names when it is set (a host may
    /// register its own <see cref="IPassageReranker"/> instead). The extractor, chunker and embedding service are
    /// registered by their own areas.
    /// </summary>
    public static IServiceCollection AddSovereignKnowledge(this IServiceCollection services)
    {
        services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<KnowledgeOptions>, KnowledgeOptionsValidator>();
        services.AddSingleton(KnowledgeSchema.Module);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IKnowledgeStore, SqliteKnowledgeStore>();
        services.TryAddSingleton<IKnowledgeIndex, SqliteKnowledgeIndex>();
        services.TryAddSingleton<OriginalStore>();
        services.TryAddSingleton<IngestionQueue>();
        services.TryAddSingleton<IngestionPipeline>();
        services.AddHostedService<IngestionWorker>();
        services.TryAddSingleton<IKnowledgeSearch>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<KnowledgeOptions>>();
            var reranker = string.IsNullOrWhiteSpace(options.Value.Reranker)
                ? null
                : sp.GetService<IPassageReranker>() ?? new GgufPassageReranker(sp.GetRequiredService<ModelManager>(), options);
            return new HybridSearch(sp.GetRequiredService<IKnowledgeStore>(), sp.GetRequiredService<IKnowledgeIndex>(),
                sp.GetRequiredService<IEmbeddingService>(), reranker, options.Value.RerankCandidates);
        });
        return services;
    }

    /// <summary>
    /// Moves knowledge (bases, documents with their originals, chunks, vectors, full text) to the shared PostgreSQL
    /// database (<see cref="Data.PostgresDatabase"/>, registered by the caller), so every node serves every base. Vector
    /// search runs in the database through pgvector where the server offers it (<see cref="KnowledgeOptions.Pgvector"/>),
    /// otherwise in this process, unless a cluster registers its own <see cref="IVectorPartitions"/>; which one is
    /// decided and logged at start-up.
    /// </summary>
    public static IServiceCollection AddPostgresKnowledge(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IKnowledgeStore, PostgresKnowledgeStore>());
        services.Replace(ServiceDescriptor.Singleton<IKnowledgeIndex, PostgresKnowledgeIndex>());
        services.TryAddSingleton<IVectorPartitions, LocalVectorPartitions>();
        services.TryAddSingleton<PostgresVectorSearch>();
        services.AddHostedService<PostgresVectorSearchStartup>();
        return services;
    }
}

/// <summary>Checks what data annotations cannot; every message names its setting.</summary>
/// <remarks>
/// The reranker is checked here so that a name missing from the model store stops start-up with a message naming the
/// setting, instead of failing every search later.
/// </remarks>
internal sealed class KnowledgeOptionsValidator(IServiceProvider services) : IValidateOptions<KnowledgeOptions>
{
    public ValidateOptionsResult Validate(string? name, KnowledgeOptions options)
    {
        var failures = new List<string>();
        if (options.ChunkOverlapTokens >= options.ChunkTokens)
            failures.Add($"Sovereign:Knowledge:ChunkOverlapTokens ({options.ChunkOverlapTokens}) must be smaller than Sovereign:Knowledge:ChunkTokens ({options.ChunkTokens}).");
        if (options.Limits.MaxTime <= TimeSpan.Zero)
            failures.Add($"Sovereign:Knowledge:Limits:MaxTime must be positive, got {options.Limits.MaxTime}.");
        if (options.JobLease < TimeSpan.FromSeconds(10))
            failures.Add($"Sovereign:Knowledge:JobLease must be at least 10 seconds, got {options.JobLease}.");
        if (options.JobScanInterval <= TimeSpan.Zero)
            failures.Add($"Sovereign:Knowledge:JobScanInterval must be positive, got {options.JobScanInterval}.");
        if (!string.IsNullOrWhiteSpace(options.Reranker) && services.GetService<IPassageReranker>() is null)
        {
            var model = options.Reranker.Trim();
            var store = services.GetService<IModelStore>();
            if (store is null || services.GetService<ModelManager>() is null)
                failures.Add($"Sovereign:Knowledge:Reranker is set to '{model}', but this host runs no GGUF models; remove the setting.");
            else if (store.Find(model) is null)
            {
                var hint = EmbeddingModels.IsMiniLm(model) ? " The built-in embedding model cannot rerank." : "";
                failures.Add($"Sovereign:Knowledge:Reranker names the model '{model}', which is not in the model store.{hint} Import a reranker GGUF with `sov models import FILE.gguf` or remove the setting.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
