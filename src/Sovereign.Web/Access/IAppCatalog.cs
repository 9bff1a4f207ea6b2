namespace Sovereign.Web.Access;

/// <summary>An app as the apps page lists it; <see cref="LiveVersion"/> null while it is only a draft. Immutable.</summary>
public sealed record WebApp(string Id, string Name, string Description, string Model, int? LiveVersion, IReadOnlyList<string> Languages);

/// <summary>
/// What chatting with an app's live version needs: its model, the system prompt the API gives it, its sampling
/// defaults and its knowledge bases (answers then carry citations). Immutable.
/// </summary>
public sealed record WebAppChat(string Id, string Name, string Description, string Model, string SystemPrompt, float? Temperature, int? MaxTokens,
    IReadOnlyList<string> KnowledgeBases, int TopK, IReadOnlyList<string> StarterQuestions);

/// <summary>The tenant's apps, over the same store as <c>/v1/apps</c>, applied to a chat as <c>model: "app:&lt;id&gt;"</c> is. Thread-safe.</summary>
public interface IAppCatalog
{
    Task<IReadOnlyList<WebApp>> ListAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>The live version, in <paramref name="language"/> when the app speaks it; null when absent or unpublished.</summary>
    Task<WebAppChat?> LiveAsync(string tenantId, string id, string? language, CancellationToken cancellationToken = default);
}
