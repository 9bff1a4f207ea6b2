using Sovereign.Apps.Definitions;
using Sovereign.Models.Store;

namespace Sovereign.Apps.Publishing;

/// <summary>The app's model must be in the model store (in a cluster, any node's). Thread-safe.</summary>
internal sealed class ModelReferenceCheck(IModelLocator models) : IAppReferenceCheck
{
    public async Task<IReadOnlyList<MissingReference>> FindMissingAsync(AppDefinition app, CancellationToken cancellationToken)
    {
        IReadOnlyList<MissingReference> missing = await models.FindAsync(app.Model, cancellationToken) is null
            ? [new MissingReference("model", "model", app.Model,
                $"The model '{app.Model}' is not in this server's model store (see GET /v1/models; import it with `sov models import` or pull it with `sov models pull`).")]
            : [];
        return missing;
    }
}
