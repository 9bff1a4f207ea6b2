using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Publishing;
using Sovereign.Apps.Store;
using Sovereign.Apps.Templates;
using Sovereign.Core.Errors;
using Sovereign.Core.Tenancy;
using Sovereign.Server.Auth;
using Sovereign.Server.Conversations;

namespace Sovereign.Server.Apps;

/// <summary>
/// The apps API. Reading needs the inference scope; changing an app (create, edit, delete, publish, rollback) needs
/// admin. Apps are the caller's tenant's; another tenant's app is 404.
/// <list type="bullet">
/// <item><c>GET /v1/apps/schema</c>: the JSON Schema of app definitions.</item>
/// <item><c>GET /v1/apps/templates</c>, <c>GET /v1/apps/templates/{id}</c> (<c>?format=yaml</c> for the shipped file).</item>
/// <item><c>GET/POST /v1/apps</c>; <c>GET/PUT/DELETE /v1/apps/{id}</c>: the draft is what POST and PUT write (JSON or
/// YAML; or <c>{"from_template": …, "id": …, "model": …, "knowledge_bases": […]}</c>).</item>
/// <item><c>POST /v1/apps/{id}/publish</c>: the draft becomes the next immutable version and goes live.</item>
/// <item><c>POST /v1/apps/{id}/rollback</c> (<c>{"version": n}</c>, default the one before the live one).</item>
/// <item><c>GET /v1/apps/{id}/versions</c>, <c>GET /v1/apps/{id}/versions/{n}</c>.</item>
/// </list>
/// </summary>
internal static class AppsApi
{
    /// <summary>Ids that would be shadowed by the fixed routes under /v1/apps.</summary>
    private static readonly string[] ReservedIds = ["schema", "templates"];

    public static IEndpointRouteBuilder MapAppsApi(this IEndpointRouteBuilder app)
    {
        var apps = app.MapGroup("/v1/apps");
        apps.MapGet("/schema", () => Results.Text(AppDocument.SchemaText, "application/schema+json", Encoding.UTF8)).WithName("GetAppSchema");
        apps.MapGet("/templates", ListTemplates).WithName("ListAppTemplates");
        apps.MapGet("/templates/{id}", GetTemplate).WithName("GetAppTemplate");
        apps.MapGet("", ListAsync).WithName("ListApps");
        apps.MapPost("", CreateAsync).WithName("CreateApp");
        apps.MapGet("/{id}", GetAsync).WithName("GetApp");
        apps.MapPut("/{id}", UpdateAsync).WithName("UpdateApp");
        apps.MapDelete("/{id}", DeleteAsync).WithName("DeleteApp");
        apps.MapPost("/{id}/publish", PublishAsync).WithName("PublishApp");
        apps.MapPost("/{id}/rollback", RollbackAsync).WithName("RollbackApp");
        apps.MapGet("/{id}/versions", VersionsAsync).WithName("ListAppVersions");
        apps.MapGet("/{id}/versions/{version:int}", VersionAsync).WithName("GetAppVersion");
        // Conversations are kept for chats through apps (and plain models); they are this area's too.
        app.MapConversationsApi();
        return app;
    }

    private static IResult ListTemplates()
    {
        var data = new JsonArray();
        foreach (var t in AppTemplates.All) data.Add(AppJson.TemplateSummary(t));
        return AppJson.Ok(new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private static IResult GetTemplate(string id, string? format)
    {
        var template = AppTemplates.Find(id) ?? throw SovereignException.NotFound(
            $"No app template '{id}'. Templates: {string.Join(", ", AppTemplates.All.Select(t => t.Id))}.", "id", "app_template_not_found");
        return format is "yaml" or "yml"
            ? Results.Text(AppTemplates.Source(id), "application/yaml", Encoding.UTF8)
            : AppJson.Ok(AppJson.Definition(template));
    }

    private static async Task<IResult> ListAsync(IAppStore store, CancellationToken ct)
    {
        var data = new JsonArray();
        foreach (var app in await store.ListAsync(ct)) data.Add(AppJson.Summary(app));
        return AppJson.Ok(new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IAppStore store)
    {
        RequireAdmin(context);
        var document = await ReadDocumentAsync(context.Request);
        AppDefinition draft;
        if (document.ContainsKey("from_template"))
        {
            draft = FromTemplate(document);
        }
        else
        {
            draft = AppDocument.Load(document);
        }
        CheckId(draft.Id);
        var created = await store.CreateAsync(draft, context.RequestAborted);
        return AppJson.Ok(AppJson.App(created), StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetAsync(string id, IAppStore store, CancellationToken ct) =>
        AppJson.Ok(AppJson.App(await store.GetAsync(id, ct) ?? throw SqliteAppStoreErrors.NotFound(id)));

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, IAppStore store)
    {
        RequireAdmin(context);
        var document = await ReadDocumentAsync(context.Request);
        if (document["id"] is null) document["id"] = id;
        else if (document["id"] is JsonValue given && given.TryGetValue<string>(out var bodyId) && bodyId != id)
            throw SovereignException.Invalid($"The document's id '{bodyId}' differs from the app being edited ('{id}'); an app's id cannot change.", "id", "app_id_mismatch");
        var draft = AppDocument.Load(document);
        return AppJson.Ok(AppJson.App(await store.UpdateDraftAsync(draft, context.RequestAborted)));
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, IAppStore store, IAuditLog audit)
    {
        RequireAdmin(context);
        if (!await store.DeleteAsync(id, context.RequestAborted)) throw SqliteAppStoreErrors.NotFound(id);
        await audit.AppendAsync(new AuditEvent(AuditActions.AppDeleted, id, "with all its versions"), CancellationToken.None);
        return AppJson.Ok(new JsonObject { ["id"] = id, ["object"] = "app.deleted", ["deleted"] = true });
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext context, AppPublisher publisher, IAuditLog audit)
    {
        RequireAdmin(context);
        var published = await publisher.PublishAsync(id, context.GetRequiredApiPrincipal().KeyId, context.RequestAborted);
        await audit.AppendAsync(new AuditEvent(AuditActions.AppPublished, published.Id, $"version {published.LiveVersion}"), CancellationToken.None);
        return AppJson.Ok(AppJson.App(published));
    }

    private static async Task<IResult> RollbackAsync(string id, HttpContext context, IAppStore store, IAuditLog audit)
    {
        RequireAdmin(context);
        int? version = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = await ReadDocumentAsync(context.Request);
            if (body["version"] is { } v)
            {
                if (v is not JsonValue value || !value.TryGetValue<int>(out var n) || n < 1)
                    throw SovereignException.Invalid("'version' must be a positive whole number (see GET /v1/apps/{id}/versions).", "version", "invalid_value");
                version = n;
            }
        }
        var live = await store.RollbackAsync(id, version, context.RequestAborted);
        await audit.AppendAsync(new AuditEvent(AuditActions.AppPublished, live.Id, $"rolled back to version {live.LiveVersion}"), CancellationToken.None);
        return AppJson.Ok(AppJson.App(live));
    }

    private static async Task<IResult> VersionsAsync(string id, IAppStore store, CancellationToken ct)
    {
        var app = await store.GetAsync(id, ct) ?? throw SqliteAppStoreErrors.NotFound(id);
        var versions = await store.VersionsAsync(id, ct) ?? throw SqliteAppStoreErrors.NotFound(id);
        var data = new JsonArray();
        foreach (var v in versions) data.Add(AppJson.Version(v, live: v.Version == app.LiveVersion, includeDefinition: false));
        return AppJson.Ok(new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private static async Task<IResult> VersionAsync(string id, int version, IAppStore store, CancellationToken ct)
    {
        var app = await store.GetAsync(id, ct) ?? throw SqliteAppStoreErrors.NotFound(id);
        var found = await store.GetVersionAsync(id, version, ct)
            ?? throw SovereignException.NotFound($"App '{id}' has no version {version}; see GET /v1/apps/{id}/versions.", "version", "app_version_not_found");
        return AppJson.Ok(AppJson.Version(found, live: found.Version == app.LiveVersion, includeDefinition: true));
    }

    private static AppDefinition FromTemplate(JsonObject document)
    {
        var problems = new List<string>();
        string? Text(string field)
        {
            var node = document[field];
            if (node is null) return null;
            if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
            problems.Add($"'{field}' must be a string.");
            return null;
        }
        var template = Text("from_template");
        var id = Text("id");
        var model = Text("model");
        List<string>? bases = null;
        if (document["knowledge_bases"] is { } kb)
        {
            if (kb is JsonArray array && array.All(e => e is JsonValue ev && ev.TryGetValue<string>(out _))) bases = [.. array.Select(e => e!.GetValue<string>())];
            else problems.Add("'knowledge_bases' must be an array of knowledge base ids or names.");
        }
        foreach (var (key, _) in document)
        {
            if (key is not ("from_template" or "id" or "model" or "knowledge_bases"))
                problems.Add($"Unknown field '{key}' beside from_template (allowed: id, model, knowledge_bases; edit the rest with PUT afterwards).");
        }
        if (string.IsNullOrEmpty(template)) problems.Add("'from_template' must name a template (GET /v1/apps/templates).");
        if (problems.Count > 0) throw SovereignException.Invalid(string.Join(" ", problems), "from_template", "invalid_app");
        return AppTemplates.Instantiate(template!, id, model, bases);
    }

    private static void CheckId(string id)
    {
        if (ReservedIds.Contains(id))
            throw SovereignException.Invalid($"'{id}' cannot be an app id: it is reserved for /v1/apps/{id}.", "id", "invalid_app");
    }

    private static void RequireAdmin(HttpContext context)
    {
        if (!context.GetRequiredApiPrincipal().HasScope(ApiKeyScopes.Admin))
            throw new SovereignException(ErrorKind.Forbidden, "Changing apps needs an API key with the 'admin' scope.", code: "insufficient_scope");
    }

    /// <summary>The body as a JSON object: JSON or YAML (by its first character, whatever the Content-Type says).</summary>
    private static async Task<JsonObject> ReadDocumentAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        return AppDocument.Parse(text);
    }
}

internal static class SqliteAppStoreErrors
{
    public static SovereignException NotFound(string id) =>
        SovereignException.NotFound($"No app with id '{id}'. See GET /v1/apps for this tenant's apps.", "id", "app_not_found");
}
