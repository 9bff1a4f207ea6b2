using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using static Sovereign.Cli.Format;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov users …`: people and service accounts of the caller's tenant, through <c>/admin/users</c>. Passwords are read
/// from standard input only, never from the command line, where other users of the machine could read them.
/// </summary>
internal static class UsersCommand
{
    public static Command Create()
    {
        var command = new Command("users", "Create, list and disable users and service accounts of your tenant (needs a running server and an admin key).");
        var username = new Argument<string>("username") { Description = "The sign-in name (no spaces)." };
        var id = new Argument<string>("id") { Description = "The user's id (see `sov users list`)." };
        var displayName = new Option<string?>("--display-name") { Description = "The name shown in the UI (default: the username)." };
        var role = new Option<string?>("--role") { Description = "owner, admin, developer or member (default member)." };
        var service = new Option<bool>("--service") { Description = "A service account: no password; it acts through keys made for it." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password (at least 10 characters) from the first line of standard input." };

        var create = new Command("create", "Create a user or a service account.") { username, displayName, role, service, passwordStdin };
        create.SetAction(async (parse, ct) =>
        {
            var body = new JsonObject { ["username"] = parse.GetValue(username), ["kind"] = parse.GetValue(service) ? "service" : "person" };
            if (parse.GetValue(displayName) is { } d) body["display_name"] = d;
            if (parse.GetValue(role) is { } r) body["role"] = r;
            if (parse.GetValue(passwordStdin)) body["password"] = ReadPassword();
            using var client = new ServerClient();
            var user = await client.PostAsync("admin/users", body, ct);
            Console.WriteLine($"Created {user["kind"]} '{user["username"]}' (id {user["id"]}) as {user["role"]}.");
            return 0;
        });

        var list = new Command("list", "List users and service accounts.");
        list.Aliases.Add("ls");
        list.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var users = (await client.GetAsync("admin/users", ct))["data"] as JsonArray ?? [];
            var table = new Table().AddColumns("ID", "USERNAME", "NAME", "ROLE", "KIND", "CREATED", "STATUS");
            table.Columns[0].NoWrap();
            foreach (var u in users)
                table.AddRow(Cell(u, "id"), Cell(u, "username"), Cell(u, "display_name"), Cell(u, "role"), Cell(u, "kind"), UnixTime(u, "created_at"), Status(u));
            AnsiConsole.Write(table);
            return 0;
        });

        var newRole = new Argument<string>("role") { Description = "owner, admin, developer or member." };
        var setRole = new Command("set-role", "Change a user's role.") { id, newRole };
        setRole.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var user = await client.PatchAsync(UserPath(parse.GetValue(id)!), new JsonObject { ["role"] = parse.GetValue(newRole) }, ct);
            Console.WriteLine($"'{user["username"]}' is now {user["role"]}.");
            return 0;
        });

        var password = new Command("password", "Set a person's password, read from the first line of standard input.") { id };
        password.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var user = await client.PatchAsync(UserPath(parse.GetValue(id)!), new JsonObject { ["password"] = ReadPassword() }, ct);
            Console.WriteLine($"Password of '{user["username"]}' changed.");
            return 0;
        });

        var disable = new Command("disable", "Disable a user: sign-in and their keys stop working; their records stay.") { id };
        disable.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var user = await client.DeleteAsync(UserPath(parse.GetValue(id)!), ct);
            Console.WriteLine($"Disabled '{user["username"]}'.");
            return 0;
        });

        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(setRole);
        command.Subcommands.Add(password);
        command.Subcommands.Add(disable);
        return command;
    }

    private static string UserPath(string id) => "admin/users/" + Uri.EscapeDataString(id);

    private static string ReadPassword()
    {
        var line = Console.In.ReadLine();
        if (string.IsNullOrEmpty(line)) throw new CliException("No password on standard input: pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | sov users …`.");
        return line;
    }

    private static string Status(JsonNode? user) =>
        user?["disabled_at"] is not null ? "disabled" : user?["locked_until"] is JsonValue v && v.TryGetValue<long>(out var until) && until > DateTimeOffset.UtcNow.ToUnixTimeSeconds() ? "locked" : "active";
}
