using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Sovereign.Core.Options;
using Sovereign.Models.Store;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the model store.</summary>
public static class ModelStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="IModelStore"/> (a <see cref="FileModelStore"/>) over <paramref name="paths"/>, unless one is
    /// registered, and the <see cref="IModelLocator"/> of a single node (a cluster replaces it).
    /// </summary>
    public static IServiceCollection AddModelStore(this IServiceCollection services, SovereignPaths paths)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(paths);
        services.TryAddSingleton<IModelStore>(sp => new FileModelStore(paths, sp.GetService<ILogger<FileModelStore>>()));
        services.TryAddSingleton<IModelLocator, LocalModelLocator>();
        return services;
    }
}
