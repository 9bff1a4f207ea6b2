namespace Sovereign.Web.Access;

/// <summary>A shipped app template as the create form offers it. Immutable.</summary>
public sealed record WebAppTemplate(string Id, string Name, string Description, string Model);

/// <summary>
/// An app as its editor shows it: the draft as indented JSON text, and which version (if any) is live. Immutable.
/// </summary>
public sealed record WebAppDraft(string Id, string Name, string DraftText, int? LiveVersion, int? LatestVersion, DateTimeOffset UpdatedAt);

/// <summary>A published version of an app, which never changes; <paramref name="Live"/> when it is the one answering. Immutable.</summary>
public sealed record WebAppVersion(int Version, DateTimeOffset PublishedAt, string? PublishedBy, bool Live);

/// <summary>
/// One problem the server found, at <paramref name="Field"/>: a JSON pointer into the definition (<c>/name</c>,
/// <c>/sampling/temperature</c>, <c>/tools/0</c>), empty when it is about the whole document. Immutable.
/// </summary>
public sealed record WebAppProblem(string Field, string Message);

/// <summary>
/// What saving or publishing said: the app as it now stands, or every problem the server found (schema, syntax or
/// missing references), each as the API words it; <see cref="Fields"/> says where each one is, for a form to show it
/// next to its field. Immutable.
/// </summary>
public sealed record WebAppOutcome(WebAppDraft? App, IReadOnlyList<string> Problems)
{
    public IReadOnlyList<WebAppProblem> Fields { get; init; } = [];

    public bool Succeeded => App is not null && Problems.Count == 0;
}

/// <summary>
/// Creating and changing apps from the browser, over the same store, schema, reference checks and audit records as
/// <c>/v1/apps</c> (create, PUT, publish, rollback). Only administrators reach it. An app of another tenant looks
/// absent. Thread-safe.
/// </summary>
public interface IAppEditor
{
    IReadOnlyList<WebAppTemplate> Templates { get; }

    /// <summary>The tools an app may name: the built-in ones, then each configured MCP server as <c>mcp:&lt;server&gt;</c>.</summary>
    IReadOnlyList<string> Tools { get; }

    /// <summary>A new draft from a template with the given id, model and knowledge bases (an empty list: none).</summary>
    Task<WebAppOutcome> CreateFromTemplateAsync(WebUser actor, string templateId, string? id, string? model, IReadOnlyList<string> knowledgeBases,
        CancellationToken cancellationToken = default);

    /// <summary>The app's draft; null when absent.</summary>
    Task<WebAppDraft?> GetAsync(string tenantId, string id, CancellationToken cancellationToken = default);

    /// <summary>Replaces the draft with <paramref name="text"/> (JSON or YAML), when it follows the schema; the live version is untouched.</summary>
    Task<WebAppOutcome> SaveDraftAsync(WebUser actor, string id, string text, CancellationToken cancellationToken = default);

    /// <summary>Makes the draft the next version and the live one, when everything it names exists.</summary>
    Task<WebAppOutcome> PublishAsync(WebUser actor, string id, CancellationToken cancellationToken = default);

    /// <summary>Makes <paramref name="version"/> live again.</summary>
    Task<WebAppOutcome> RollbackAsync(WebUser actor, string id, int version, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the app, its draft and every published version, as <c>DELETE /v1/apps/{id}</c> does and with its rule:
    /// only an administrator (anyone else is refused with <c>Forbidden</c>). False when the tenant has no such app.
    /// </summary>
    Task<bool> DeleteAsync(WebUser actor, string id, CancellationToken cancellationToken = default);

    /// <summary>Published versions, newest first; empty when none or the app is absent.</summary>
    Task<IReadOnlyList<WebAppVersion>> VersionsAsync(string tenantId, string id, CancellationToken cancellationToken = default);
}
