using Microsoft.Extensions.DependencyInjection;
using Sovereign.Knowledge;

namespace Sovereign.Server.Knowledge;

internal static class KnowledgeComposition
{
    /// <summary>Knowledge bases (store, index, ingestion jobs, search) and the chat completions hook; extraction is registered by its own area.</summary>
    public static IServiceCollection AddKnowledge(this IServiceCollection services)
    {
        services.AddSovereignKnowledge();
        services.AddSingleton<KnowledgeAugmenter>();
        return services;
    }
}
