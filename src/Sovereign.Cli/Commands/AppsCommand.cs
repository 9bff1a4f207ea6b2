using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov apps …`: industry templates and the apps built from them, through the running server's apps API.</summary>
internal static class AppsCommand
{
    public static Command Create()
    {
        var command = new Command("apps", "Assistants defined as data: templates, apps, publishing and rollback (needs a running server).");

        var templates = new Command("templates", "List the industry templates an app can start from.");
        templates.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var list = await client.GetAsync("v1/apps/templates", ct);
            var table = new Table().AddColumns("TEMPLATE", "NAME", "LANGUAGES", "TOOLS", "KNOWLEDGE BASES");
            table.Columns[0].NoWrap();
            foreach (var t in Items(list))
                table.AddRow(Format.Cell(t, "id"), Format.Cell(t, "name"), Join(t?["languages"]), Join(t?["tools"]), Join(t?["knowledge_bases"]));
            AnsiConsole.Write(table);
            return 0;
        });

        var template = new Option<string>("--from-template") { Description = "The template to start from (see `sov apps templates`).", Required = true };
        var id = new Argument<string>("id") { Description = "The new app's id: lower-case letters, digits and '-' (used as model \"app:<id>\")." };
        var model = new Option<string?>("--model") { Description = "The model it answers with (default: the template's)." };
        var knowledge = new Option<string[]>("--knowledge") { Description = "Knowledge base ids or names, replacing the template's (repeat for several).", AllowMultipleArgumentsPerToken = true };
        var noKnowledge = new Option<bool>("--no-knowledge") { Description = "Start without knowledge bases." };
        var publishNow = new Option<bool>("--publish") { Description = "Publish it at once." };
        var create = new Command("create", "Create an app (a draft) from a template.") { id, template, model, knowledge, noKnowledge, publishNow };
        create.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject { ["from_template"] = parse.GetValue(template), ["id"] = parse.GetValue(id) };
            if (parse.GetValue(model) is { } m) body["model"] = m;
            var bases = parse.GetValue(knowledge) ?? [];
            if (parse.GetValue(noKnowledge)) body["knowledge_bases"] = new JsonArray();
            else if (bases.Length > 0) body["knowledge_bases"] = new JsonArray([.. bases.Select(b => (JsonNode)b)]);
            var app = await client.PostAsync("v1/apps", body, ct);
            Console.WriteLine($"Created app '{app["id"]}' (draft) from template '{parse.GetValue(template)}'.");
            if (parse.GetValue(publishNow))
            {
                app = await client.PostAsync($"v1/apps/{Uri.EscapeDataString(parse.GetValue(id)!)}/publish", new JsonObject(), ct);
                Console.WriteLine($"Published version {app["live_version"]}; chat with model \"app:{app["id"]}\".");
            }
            return 0;
        });

        var list = new Command("list", "List this tenant's apps.");
        list.Aliases.Add("ls");
        list.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var apps = await client.GetAsync("v1/apps", ct);
            var table = new Table().AddColumns("ID", "NAME", "MODEL", "LIVE", "LATEST", "DRAFT", "UPDATED");
            table.Columns[0].NoWrap();
            foreach (var a in Items(apps))
            {
                table.AddRow(Format.Cell(a, "id"), Format.Cell(a, "name"), Format.Cell(a, "model"), Version(a?["live_version"]), Version(a?["latest_version"]),
                    a?["unpublished_changes"]?.GetValue<bool>() == true ? "changed" : "published", Format.UnixTime(a, "updated_at"));
            }
            AnsiConsole.Write(table);
            return 0;
        });

        var showId = new Argument<string>("id") { Description = "The app's id." };
        var show = new Command("show", "Show an app: its live version, draft, versions and starter questions.") { showId };
        show.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var appId = Uri.EscapeDataString(parse.GetValue(showId)!);
            var app = await client.GetAsync($"v1/apps/{appId}", ct);
            var versions = await client.GetAsync($"v1/apps/{appId}/versions", ct);
            var shown = app["live"] ?? app["draft"];
            var facts = new Table().HideHeaders().AddColumns("", "");
            facts.AddRow("id", Format.Cell(app, "id"));
            facts.AddRow("name", Format.Cell(shown, "name"));
            facts.AddRow("description", Format.Cell(shown, "description"));
            facts.AddRow("model", Format.Cell(shown, "model"));
            facts.AddRow("languages", Join(shown?["languages"]));
            facts.AddRow("knowledge", Join(shown?["knowledge"]?["bases"]));
            facts.AddRow("tools", Join(shown?["tools"]));
            facts.AddRow("live version", Version(app["live_version"]));
            facts.AddRow("draft", app["unpublished_changes"]?.GetValue<bool>() == true ? "has unpublished changes" : "same as live");
            facts.AddRow("chat with", $"model \"app:{Format.Cell(app, "id")}\"");
            AnsiConsole.Write(facts);

            var history = new Table().AddColumns("VERSION", "LIVE", "MODEL", "PUBLISHED", "BY");
            foreach (var v in Items(versions))
                history.AddRow(Format.Cell(v, "version"), v?["live"]?.GetValue<bool>() == true ? "live" : "", Format.Cell(v, "model"), Format.UnixTime(v, "published_at"), Format.Cell(v, "published_by"));
            AnsiConsole.Write(history);
            if (shown?["starter_questions"] is JsonArray { Count: > 0 } questions)
            {
                var starters = new Table().AddColumns("STARTER QUESTIONS");
                foreach (var q in questions) starters.AddRow(Markup.Escape(q?.ToString() ?? ""));
                AnsiConsole.Write(starters);
            }
            return 0;
        });

        var publishId = new Argument<string>("id") { Description = "The app's id." };
        var publish = new Command("publish", "Publish the draft as the next version and make it live.") { publishId };
        publish.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var app = await client.PostAsync($"v1/apps/{Uri.EscapeDataString(parse.GetValue(publishId)!)}/publish", new JsonObject(), ct);
            Console.WriteLine($"Published '{app["id"]}' version {app["live_version"]}; it is live.");
            return 0;
        });

        var rollbackId = new Argument<string>("id") { Description = "The app's id." };
        var toVersion = new Option<int?>("--to") { Description = "The version to make live (default: the one before the live one)." };
        var rollback = new Command("rollback", "Make an earlier version live again; the draft is kept.") { rollbackId, toVersion };
        rollback.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject();
            if (parse.GetValue(toVersion) is { } v) body["version"] = v;
            var app = await client.PostAsync($"v1/apps/{Uri.EscapeDataString(parse.GetValue(rollbackId)!)}/rollback", body, ct);
            Console.WriteLine($"'{app["id"]}' is live at version {app["live_version"]}.");
            return 0;
        });

        foreach (var sub in new[] { templates, create, list, show, publish, rollback }) command.Subcommands.Add(sub);
        return command;
    }

    private static IEnumerable<JsonNode?> Items(JsonNode list) => list["data"] as JsonArray ?? [];

    private static string Join(JsonNode? array) =>
        array is JsonArray { Count: > 0 } a ? Markup.Escape(string.Join(", ", a.Select(x => x?.ToString()))) : "—";

    private static string Version(JsonNode? v) => v is null ? "—" : "v" + v;
}
