using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov keys …`: manages API keys through the running server's admin API.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var command = new Command("keys", "Create, list and revoke API keys (needs a running server and an admin key).");

        var name = new Argument<string>("name") { Description = "What the key is for." };
        var scope = new Option<string>("--scope") { Description = "inference (default), mirror (lets another node pull models from this one) or admin (every scope).", DefaultValueFactory = _ => "inference" };
        var days = new Option<int?>("--expires-in-days") { Description = "Days until the key stops working (default: never)." };
        var user = new Option<string?>("--user") { Description = "A user or service account id: the key acts as them and stops when they are disabled." };
        var create = new Command("create", "Create a key; it is shown once.") { name, scope, days, user };
        create.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject { ["name"] = parse.GetValue(name), ["scope"] = parse.GetValue(scope) };
            if (parse.GetValue(days) is { } d) body["expires_in_days"] = d;
            if (parse.GetValue(user) is { } u) body["user_id"] = u;
            var created = await client.PostAsync("admin/keys", body, ct);
            Console.WriteLine(created["key"]?.GetValue<string>());
            Console.Error.WriteLine($"Key '{created["name"]}' (id {created["id"]}) created. It is shown only this once.");
            return 0;
        });

        var list = new Command("list", "List keys (never their secret).");
        list.Aliases.Add("ls");
        list.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var keys = await client.GetAsync("admin/keys", ct);
            var items = keys["data"] as JsonArray ?? keys as JsonArray ?? [];
            var table = new Table().AddColumns("ID", "NAME", "PREFIX", "SCOPE", "CREATED", "EXPIRES", "STATUS");
            table.Columns[0].NoWrap();
            table.Columns[2].NoWrap();
            foreach (var k in items)
            {
                table.AddRow(Format.Cell(k, "id"), Format.Cell(k, "name"), Format.Cell(k, "prefix"), Format.Cell(k, "scope"),
                    Format.UnixTime(k, "created_at"), Format.UnixTime(k, "expires_at"), k?["revoked_at"] is null ? "active" : "revoked");
            }
            AnsiConsole.Write(table);
            return 0;
        });

        var id = new Argument<string>("id") { Description = "The key's id (see `sov keys list`)." };
        var revoke = new Command("revoke", "Revoke a key; it stops working at once.") { id };
        revoke.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            await client.DeleteAsync($"admin/keys/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct);
            Console.WriteLine($"Revoked {parse.GetValue(id)}");
            return 0;
        });

        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(revoke);
        return command;
    }
}
