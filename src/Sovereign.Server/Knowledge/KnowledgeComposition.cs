using Microsoft.Extensions.DependencyInjection;
using Sovereign.Knowledge;
using Sovereign.Knowledge.Extraction;

namespace Sovereign.Server.Knowledge;

internal static class KnowledgeComposition
{
    /// <summary>Knowledge bases (store, index, ingestion jobs, search), extraction, and the chat completions hook.</summary>
    public static IServiceCollection AddKnowledge(this IServiceCollection services)
    {
        services.AddSovereignKnowledge();
        services.AddDocumentExtraction();
        services.AddSingleton<KnowledgeAugmenter>();
        return services;
    }
}
