using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sovereign.Knowledge.Chunking;

namespace Sovereign.Knowledge.Extraction;

public static class ExtractionServiceCollectionExtensions
{
    /// <summary>Document extraction (with OCR) and structured chunking; all stateless singletons.</summary>
    public static IServiceCollection AddDocumentExtraction(this IServiceCollection services)
    {
        services.TryAddSingleton<IDocumentExtractor, DocumentExtractor>();
        services.TryAddSingleton<ITokenCounter, ApproximateTokenCounter>();
        services.TryAddSingleton<IChunker, StructuredChunker>();
        services.TryAddSingleton<ImageTextReader>();
        return services;
    }
}
