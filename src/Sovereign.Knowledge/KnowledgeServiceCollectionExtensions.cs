using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sovereign.Knowledge.Index;
using Sovereign.Knowledge.Ingestion;
using Sovereign.Knowledge.Retrieval;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Knowledge;

public static class KnowledgeServiceCollectionExtensions
{
    /// <summary>
    /// Knowledge bases: the schema module, the store, the index, originals, ingestion jobs (a hosted worker) and hybrid
    /// search. The extractor, chunker and embedding service are registered by their own areas.
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
        services.TryAddSingleton<IKnowledgeSearch, HybridSearch>();
        return services;
    }

    /// <summary>
    /// Moves knowledge (bases, documents with their originals, chunks, vectors, full text) to the shared PostgreSQL
    /// database (<see cref="Data.PostgresDatabase"/>, registered by the caller), so every node serves every base. Vector
    /// search runs in this process unless a cluster registers its own <see cref="IVectorPartitions"/>.
    /// </summary>
    public static IServiceCollection AddPostgresKnowledge(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<IKnowledgeStore, PostgresKnowledgeStore>());
        services.Replace(ServiceDescriptor.Singleton<IKnowledgeIndex, PostgresKnowledgeIndex>());
        services.TryAddSingleton<IVectorPartitions, LocalVectorPartitions>();
        return services;
    }
}

/// <summary>Checks what data annotations cannot; every message names its setting.</summary>
internal sealed class KnowledgeOptionsValidator : IValidateOptions<KnowledgeOptions>
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
        if (!string.IsNullOrWhiteSpace(options.Reranker))
            failures.Add($"Sovereign:Knowledge:Reranker is set to '{options.Reranker}', but this build cannot use a reranker yet; remove the setting.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
