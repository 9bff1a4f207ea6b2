using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Embeddings;

namespace Sovereign.Inference.Embeddings;

public static class EmbeddingServiceCollectionExtensions
{
    /// <summary>Registers <see cref="EmbeddingService"/> as the <see cref="IEmbeddingService"/>, its options from <c>Sovereign:Embeddings</c>.</summary>
    public static IServiceCollection AddSovereignEmbeddings(this IServiceCollection services)
    {
        services.AddOptions<EmbeddingOptions>().BindConfiguration(EmbeddingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EmbeddingService>();
        services.AddSingleton<IEmbeddingService>(sp => sp.GetRequiredService<EmbeddingService>());
        return services;
    }
}
