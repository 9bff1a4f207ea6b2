using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using static Sovereign.Cli.Format;

namespace Sovereign.Cli.Commands;

/// <summary>
/// `sov tenants …`: the organisations on this server, their scheduling weight and their quotas, through the operator's
/// admin API (<c>/admin/tenants</c>). Limits are changed one at a time: the others keep their values.
/// </summary>
internal static class TenantsCommand
{
    private static readonly (string Option, string Field, string Column)[] LimitFields =
    [
        ("--requests-per-minute", "requests_per_minute", "REQ/MIN"),
        ("--tokens-per-day", "tokens_per_day", "TOKENS/DAY"),
        ("--tokens-per-month", "tokens_per_month", "TOKENS/MONTH"),
        ("--concurrent", "concurrent_generations", "CONCURRENT"),
    ];

    public static Command Create()
    {
        var command = new Command("tenants", "Create and list organisations, set their weight and quotas (needs a running server and the operator's admin key).");
        var id = new Argument<string>("id") { Description = "The tenant's id: lowercase letters, digits and '-'." };
        var name = new Option<string?>("--name") { Description = "A display name (default: the id)." };
        var weight = new Option<int?>("--weight") { Description = "Its share of each model's engine under load, 1-1000 (default 1)." };

        var create = new Command("create", "Create a tenant.") { id, name, weight };
        create.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject { ["id"] = parse.GetValue(id) };
            if (parse.GetValue(name) is { } n) body["name"] = n;
            if (parse.GetValue(weight) is { } w) body["weight"] = w;
            var created = await client.PostAsync("admin/tenants", body, ct);
            Console.WriteLine($"Created tenant {created["id"]} ('{created["name"]}', weight {created["weight"]}).");
            return 0;
        });

        var list = new Command("list", "List tenants.");
        list.Aliases.Add("ls");
        list.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var tenants = (await client.GetAsync("admin/tenants", ct))["data"] as JsonArray ?? [];
            var table = new Table().AddColumns("ID", "NAME", "WEIGHT", "CREATED");
            table.Columns[0].NoWrap();
            foreach (var t in tenants) table.AddRow(Cell(t, "id"), Cell(t, "name"), Cell(t, "weight"), UnixTime(t, "created_at"));
            AnsiConsole.Write(table);
            return 0;
        });

        var show = new Command("show", "Show a tenant and its limits.") { id };
        show.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var path = "admin/tenants/" + Uri.EscapeDataString(parse.GetValue(id)!);
            var tenant = await client.GetAsync(path, ct);
            var limits = await client.GetAsync(path + "/limits", ct);
            var table = new Table().AddColumns("FIELD", "VALUE");
            table.AddRow("id", Cell(tenant, "id"));
            table.AddRow("name", Cell(tenant, "name"));
            table.AddRow("weight", Cell(tenant, "weight"));
            table.AddRow("created", UnixTime(tenant, "created_at"));
            foreach (var (_, field, _) in LimitFields) table.AddRow(field, Limit(limits, field));
            AnsiConsole.Write(table);
            return 0;
        });

        var set = new Command("set", "Change a tenant's name or weight.") { id, name, weight };
        set.SetAction(async (parse, ct) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(name) is { } n) body["name"] = n;
            if (parse.GetValue(weight) is { } w) body["weight"] = w;
            if (body.Count == 0) throw new CliException("Nothing to change: give --name or --weight.");
            using var client = new ServerClient();
            var tenant = await client.PatchAsync("admin/tenants/" + Uri.EscapeDataString(parse.GetValue(id)!), body, ct);
            Console.WriteLine($"Tenant {tenant["id"]}: '{tenant["name"]}', weight {tenant["weight"]}.");
            return 0;
        });

        var limitOptions = LimitFields.Select(f => new Option<string?>(f.Option) { Description = "A whole number, or 'none' to remove the limit." }).ToArray();
        var limitsCommand = new Command("limits", "Show a tenant's quotas, or change the ones given (each a number or 'none').") { id };
        foreach (var o in limitOptions) limitsCommand.Options.Add(o);
        limitsCommand.SetAction(async (parse, ct) =>
        {
            var path = "admin/tenants/" + Uri.EscapeDataString(parse.GetValue(id)!) + "/limits";
            using var client = new ServerClient();
            var limits = (JsonObject)await client.GetAsync(path, ct);
            var changed = false;
            for (var i = 0; i < LimitFields.Length; i++)
            {
                if (parse.GetValue(limitOptions[i]) is not { } text) continue;
                limits[LimitFields[i].Field] = ParseLimit(LimitFields[i].Option, text);
                changed = true;
            }
            if (changed) limits = (JsonObject)await client.PutAsync(path, limits, ct);
            var table = new Table().AddColumns(LimitFields.Select(f => f.Column).ToArray());
            table.AddRow(LimitFields.Select(f => Limit(limits, f.Field)).ToArray());
            AnsiConsole.Write(table);
            return 0;
        });

        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(set);
        command.Subcommands.Add(limitsCommand);
        return command;
    }

    private static JsonNode? ParseLimit(string option, string text)
    {
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return n;
        throw new CliException($"{option} must be a whole number greater than 0, or 'none'; got '{text}'.");
    }

    private static string Limit(JsonNode? limits, string field) => limits?[field] is null ? "none" : Cell(limits, field);
}
