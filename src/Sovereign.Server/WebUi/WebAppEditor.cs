using System.Text.Json;
using System.Text.Json.Nodes;
using Sovereign.Agents.Tools;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Publishing;
using Sovereign.Apps.Store;
using Sovereign.Apps.Templates;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Web.Access;

namespace Sovereign.Server.WebUi;

/// <summary>
/// The app editor over the apps store with the rules of <c>/v1/apps</c>: the same schema, template instantiation,
/// publisher (reference checks) and audit records, the actor being the signed-in key or user. A refusal comes back as
/// problems for the page to show, worded as the API words them. Thread-safe.
/// </summary>
internal sealed class WebAppEditor(IAppStore store, AppPublisher publisher, IAuditLog audit, AgentToolFactory toolFactory) : IAppEditor
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Ids the API's fixed routes would shadow, refused as <c>POST /v1/apps</c> refuses them.</summary>
    private static readonly string[] ReservedIds = ["schema", "templates"];

    public IReadOnlyList<WebAppTemplate> Templates { get; } = [.. AppTemplates.All.Select(t => new WebAppTemplate(t.Id, t.Name, t.Description, t.Model))];

    public IReadOnlyList<string> Tools =>
        [.. AgentToolFactory.BuiltInTypes, .. toolFactory.McpServers.Order(StringComparer.Ordinal).Select(s => "mcp:" + s)];

    public Task<WebAppOutcome> CreateFromTemplateAsync(WebUser actor, string templateId, string? id, string? model, IReadOnlyList<string> knowledgeBases,
        CancellationToken cancellationToken = default) =>
        AttemptAsync(actor, async () =>
        {
            var draft = AppTemplates.Instantiate(templateId, Blank(id), Blank(model), knowledgeBases);
            if (ReservedIds.Contains(draft.Id))
                throw SovereignException.Invalid($"'{draft.Id}' cannot be an app id: it is reserved for /v1/apps/{draft.Id}.", "id", "invalid_app");
            return await store.CreateAsync(draft, cancellationToken);
        });

    public async Task<WebAppDraft?> GetAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId)) return await store.GetAsync(id, cancellationToken) is { } app ? ToWeb(app) : null;
    }

    public Task<WebAppOutcome> SaveDraftAsync(WebUser actor, string id, string text, CancellationToken cancellationToken = default) =>
        AttemptAsync(actor, async () =>
        {
            var document = AppDocument.Parse(text);
            if (document["id"] is null) document["id"] = id;
            else if (document["id"] is JsonValue given && given.TryGetValue<string>(out var bodyId) && bodyId != id)
                throw SovereignException.Invalid($"The document's id '{bodyId}' differs from the app being edited ('{id}'); an app's id cannot change.", "id", "app_id_mismatch");
            var problems = AppDocument.Validate(document);
            if (problems.Count > 0) throw new ProblemsException(problems);
            return await store.UpdateDraftAsync(AppDefinition.FromJson(document.ToJsonString()), cancellationToken);
        });

    public Task<WebAppOutcome> PublishAsync(WebUser actor, string id, CancellationToken cancellationToken = default) =>
        AttemptAsync(actor, async () =>
        {
            var published = await publisher.PublishAsync(id, actor.Id, cancellationToken);
            await audit.AppendAsync(new AuditEvent(AuditActions.AppPublished, published.Id, $"version {published.LiveVersion}") { Actor = WebActors.Of(actor) },
                CancellationToken.None);
            return published;
        });

    public Task<WebAppOutcome> RollbackAsync(WebUser actor, string id, int version, CancellationToken cancellationToken = default) =>
        AttemptAsync(actor, async () =>
        {
            var live = await store.RollbackAsync(id, version, cancellationToken);
            await audit.AppendAsync(new AuditEvent(AuditActions.AppPublished, live.Id, $"rolled back to version {live.LiveVersion}") { Actor = WebActors.Of(actor) },
                CancellationToken.None);
            return live;
        });

    public async Task<bool> DeleteAsync(WebUser actor, string id, CancellationToken cancellationToken = default)
    {
        // The page is for administrators only, but the rule is the API's and is kept here too, whoever calls.
        if (!actor.IsAdmin) throw new SovereignException(ErrorKind.Forbidden, "Deleting apps needs the 'admin' scope.", code: "insufficient_scope");
        using (TenantScope.Enter(actor.TenantId))
        {
            if (!await store.DeleteAsync(id, cancellationToken)) return false;
            await audit.AppendAsync(new AuditEvent(AuditActions.AppDeleted, id, "with all its versions") { Actor = WebActors.Of(actor) }, CancellationToken.None);
            return true;
        }
    }

    public async Task<IReadOnlyList<WebAppVersion>> VersionsAsync(string tenantId, string id, CancellationToken cancellationToken = default)
    {
        using (TenantScope.Enter(tenantId))
        {
            if (await store.GetAsync(id, cancellationToken) is not { } app) return [];
            var versions = await store.VersionsAsync(id, cancellationToken) ?? [];
            return [.. versions.OrderByDescending(v => v.Version).Select(v => new WebAppVersion(v.Version, v.PublishedAt, v.PublishedBy, v.Version == app.LiveVersion))];
        }
    }

    private static async Task<WebAppOutcome> AttemptAsync(WebUser actor, Func<Task<AppRecord>> change)
    {
        using (TenantScope.Enter(actor.TenantId))
        {
            try
            {
                return new WebAppOutcome(ToWeb(await change()), []);
            }
            catch (ProblemsException e)
            {
                return new WebAppOutcome(null, [.. e.Problems.Select(p => p.ToString())])
                {
                    Fields = [.. e.Problems.Select(p => new WebAppProblem(p.Path, p.Message))],
                };
            }
            catch (SovereignException e)
            {
                return new WebAppOutcome(null, [e.Message]) { Fields = [new WebAppProblem(Pointer(e.Param), e.Message)] };
            }
        }
    }

    /// <summary>An error's parameter (<c>model</c>, <c>tools[0]</c>, <c>knowledge.bases[1]</c>) as a JSON pointer (<c>/tools/0</c>).</summary>
    private static string Pointer(string? param) =>
        string.IsNullOrEmpty(param) ? "" : "/" + param.Replace("]", "", StringComparison.Ordinal).Replace('[', '/').Replace('.', '/');

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static WebAppDraft ToWeb(AppRecord app) =>
        new(app.Id, app.Draft.Name, JsonNode.Parse(app.Draft.ToJson())!.ToJsonString(Indented), app.LiveVersion, app.LatestVersion, app.UpdatedAt);

    /// <summary>Schema problems one by one, so the page lists each instead of one long sentence.</summary>
    private sealed class ProblemsException(IReadOnlyList<AppProblem> problems) : Exception
    {
        public IReadOnlyList<AppProblem> Problems { get; } = problems;
    }
}

/// <summary>Who the audit log names for a change made in the browser, as the API's principal would (<c>key:</c> or <c>user:</c>).</summary>
internal static class WebActors
{
    public static string Of(WebUser user) => user.Method == WebSignInMethods.ApiKey ? $"key:{user.Id}" : $"user:{user.Id}";
}
