using Sovereign.Apps.Definitions;
using Sovereign.Models.Store;

namespace Sovereign.Apps.Publishing;

/// <summary>The app's model must be in the model store. Thread-safe.</summary>
internal sealed class ModelReferenceCheck(IModelStore models) : IAppReferenceCheck
{
    public Task<IReadOnlyList<MissingReference>> FindMissingAsync(AppDefinition app, CancellationToken cancellationToken)
    {
        IReadOnlyList<MissingReference> missing = models.Find(app.Model) is null
            ? [new MissingReference("model", "model", app.Model,
                $"The model '{app.Model}' is not in this server's model store (see GET /v1/models; import it with `sov models import` or pull it with `sov models pull`).")]
            : [];
        return Task.FromResult(missing);
    }
}
