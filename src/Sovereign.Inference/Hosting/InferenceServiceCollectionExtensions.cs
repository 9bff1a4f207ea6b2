using Microsoft.Extensions.DependencyInjection;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Hosting;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>Registers the model manager (runner supervision) as the <see cref="IInferenceService"/>.</summary>
    public static IServiceCollection AddSovereignInference(this IServiceCollection services)
    {
        services.AddSingleton<ModelManager>();
        services.AddSingleton<IInferenceService>(sp => sp.GetRequiredService<ModelManager>());
        return services;
    }
}
