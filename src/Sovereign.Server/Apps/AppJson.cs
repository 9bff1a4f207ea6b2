using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sovereign.Apps.Definitions;
using Sovereign.Apps.Store;

namespace Sovereign.Server.Apps;

/// <summary>How apps, versions and templates look on the wire (snake_case, unix seconds). Stateless.</summary>
internal static class AppJson
{
    public static IResult Ok(JsonNode body, int status = StatusCodes.Status200OK) =>
        Results.Content(body.ToJsonString(AppDefinition.Json), "application/json; charset=utf-8", System.Text.Encoding.UTF8, status);

    public static JsonObject Definition(AppDefinition d) => JsonNode.Parse(d.ToJson())!.AsObject();

    public static JsonObject App(AppRecord app)
    {
        var json = Summary(app);
        json["draft"] = Definition(app.Draft);
        json["live"] = app.Live is null ? null : Definition(app.Live);
        return json;
    }

    /// <summary>What a list shows: the live version's texts where there is one, else the draft's.</summary>
    public static JsonObject Summary(AppRecord app)
    {
        var shown = app.Live ?? app.Draft;
        return new JsonObject
        {
            ["id"] = app.Id,
            ["object"] = "app",
            ["name"] = shown.Name,
            ["description"] = shown.Description,
            ["model"] = shown.Model,
            ["languages"] = new JsonArray([.. shown.Languages.Select(l => (JsonNode)l)]),
            ["live_version"] = app.LiveVersion,
            ["latest_version"] = app.LatestVersion,
            ["unpublished_changes"] = app.Live is null || app.Live.ToJson() != app.Draft.ToJson(),
            ["created_at"] = app.CreatedAt.ToUnixTimeSeconds(),
            ["updated_at"] = app.UpdatedAt.ToUnixTimeSeconds(),
        };
    }

    public static JsonObject Version(AppVersion v, bool live, bool includeDefinition)
    {
        var json = new JsonObject
        {
            ["object"] = "app.version",
            ["app_id"] = v.AppId,
            ["version"] = v.Version,
            ["live"] = live,
            ["name"] = v.Definition.Name,
            ["model"] = v.Definition.Model,
            ["published_at"] = v.PublishedAt.ToUnixTimeSeconds(),
            ["published_by"] = v.PublishedBy,
        };
        if (includeDefinition) json["definition"] = Definition(v.Definition);
        return json;
    }

    public static JsonObject TemplateSummary(AppDefinition t)
    {
        var names = new JsonObject();
        foreach (var language in t.Languages) names[language] = t.TextsFor(language).Name;
        return new JsonObject
        {
            ["id"] = t.Id,
            ["object"] = "app.template",
            ["name"] = t.Name,
            ["description"] = t.Description,
            ["languages"] = new JsonArray([.. t.Languages.Select(l => (JsonNode)l)]),
            ["names"] = names,
            ["model"] = t.Model,
            ["knowledge_bases"] = new JsonArray([.. (t.Knowledge?.Bases ?? []).Select(b => (JsonNode)b)]),
            ["tools"] = new JsonArray([.. t.Tools.Select(x => (JsonNode)x)]),
        };
    }
}
