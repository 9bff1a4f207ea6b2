using Sovereign.Apps.Definitions;

namespace Sovereign.Apps.Publishing;

/// <summary>
/// One kind of thing an app names that must exist before it can be published (a model, a knowledge base, a tool).
/// Register each with <c>services.AddSingleton&lt;IAppReferenceCheck, …&gt;()</c>; every check runs at publish.
/// Implementations are thread-safe and read the tenant from <see cref="Core.Tenancy.TenantScope"/>.
/// </summary>
public interface IAppReferenceCheck
{
    /// <summary>What is missing, each as a sentence naming it and saying how to fix it; empty when all exist.</summary>
    Task<IReadOnlyList<MissingReference>> FindMissingAsync(AppDefinition app, CancellationToken cancellationToken);
}

/// <param name="Field">The definition's field at fault, e.g. <c>model</c>, <c>knowledge.bases[0]</c>, <c>tools[1]</c>.</param>
/// <param name="Kind">model, knowledge base or tool.</param>
/// <param name="Name">What the app named.</param>
/// <param name="Message">A sentence naming it and what to do.</param>
public sealed record MissingReference(string Field, string Kind, string Name, string Message);
