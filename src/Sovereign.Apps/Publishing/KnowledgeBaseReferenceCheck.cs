using Sovereign.Apps.Definitions;
using Sovereign.Knowledge.Storage;

namespace Sovereign.Apps.Publishing;

/// <summary>Every knowledge base the app names must exist in the tenant (by id or name). Thread-safe.</summary>
internal sealed class KnowledgeBaseReferenceCheck(IKnowledgeStore knowledge) : IAppReferenceCheck
{
    public async Task<IReadOnlyList<MissingReference>> FindMissingAsync(AppDefinition app, CancellationToken cancellationToken)
    {
        var missing = new List<MissingReference>();
        var bases = app.Knowledge?.Bases ?? [];
        for (var i = 0; i < bases.Count; i++)
        {
            if (await knowledge.FindBaseAsync(bases[i], cancellationToken) is null)
            {
                missing.Add(new MissingReference($"knowledge.bases[{i}]", "knowledge base", bases[i],
                    $"The knowledge base '{bases[i]}' does not exist (see GET /v1/knowledge/bases; create it and add documents, or name another in the app's knowledge.bases)."));
            }
        }
        return missing;
    }
}
