using Sovereign.Core.Errors;

namespace Sovereign.Models.Store;

/// <summary>Conveniences over any <see cref="IModelStore"/>.</summary>
public static class ModelStoreExtensions
{
    /// <summary>Like <see cref="IModelStore.Find"/>, but a missing model is a 404 (<c>model_not_found</c>) naming it.</summary>
    public static ModelManifest Get(this IModelStore store, string reference, string param = "model")
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.Find(reference) ?? throw SovereignException.NotFound($"Model '{reference}' not found.", param, "model_not_found");
    }
}
