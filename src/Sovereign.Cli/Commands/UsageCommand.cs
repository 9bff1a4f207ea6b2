using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov usage`: the tenant's generation usage from the running server (<c>GET /v1/usage</c>), as a table or CSV.</summary>
internal static class UsageCommand
{
    public static Command Create()
    {
        var groupBy = new Option<string?>("--group-by") { Description = "Sum by day, model, app or key (default: one row per request)." };
        var from = new Option<string?>("--from") { Description = "From this time on (ISO 8601 date or unix seconds)." };
        var to = new Option<string?>("--to") { Description = "Before this time (ISO 8601 date or unix seconds)." };
        var model = new Option<string?>("--model") { Description = "Only this model." };
        var app = new Option<string?>("--app") { Description = "Only this app id." };
        var key = new Option<string?>("--key") { Description = "Only this key id." };
        var csv = new Option<bool>("--csv") { Description = "Write CSV to standard output instead of a table." };
        var command = new Command("usage", "Show token usage of your tenant (needs a running server and an admin key).") { groupBy, from, to, model, app, key, csv };
        command.SetAction(async (parse, ct) =>
        {
            var query = new List<string>();
            void Add(string name, string? value)
            {
                if (!string.IsNullOrEmpty(value)) query.Add($"{name}={Uri.EscapeDataString(value)}");
            }
            Add("group_by", parse.GetValue(groupBy));
            Add("from", parse.GetValue(from));
            Add("to", parse.GetValue(to));
            Add("model", parse.GetValue(model));
            Add("app_id", parse.GetValue(app));
            Add("key_id", parse.GetValue(key));
            using var client = new ServerClient();
            if (parse.GetValue(csv))
            {
                query.Add("format=csv");
                Console.Write(await client.GetTextAsync("v1/usage?" + string.Join('&', query), ct));
                return 0;
            }
            var body = await client.GetAsync("v1/usage" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ct);
            var rows = body["data"] as JsonArray ?? [];
            AnsiConsole.Write(body["group_by"] is { } g ? GroupTable(g.GetValue<string>(), rows) : RecordTable(rows));
            return 0;
        });
        return command;
    }


    private static string Ms(JsonNode? row, string field) =>
        row?[field] is JsonValue v && v.TryGetValue<double>(out var ms) ? ms.ToString("0", CultureInfo.InvariantCulture) : "—";

    private static Table RecordTable(JsonArray rows)
    {
        var table = new Table().AddColumns("TIME", "MODEL", "KEY", "API", "PROMPT", "COMPLETION", "TTFT MS", "MS", "OUTCOME");
        foreach (var r in rows)
        {
            var time = r?["created_at"] is JsonValue v && v.TryGetValue<long>(out var unix)
                ? DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "—";
            table.AddRow(time, Format.Cell(r, "model"), Format.Cell(r, "key_id"), Format.Cell(r, "api"), Format.Cell(r, "prompt_tokens"), Format.Cell(r, "completion_tokens"), Ms(r, "ttft_ms"), Ms(r, "duration_ms"), Format.Cell(r, "outcome"));
        }
        return table;
    }

    private static Table GroupTable(string groupBy, JsonArray rows)
    {
        var table = new Table().AddColumns(groupBy.ToUpperInvariant(), "REQUESTS", "PROMPT", "COMPLETION", "TOTAL", "AVG TTFT MS", "AVG MS");
        foreach (var r in rows)
            table.AddRow(Format.Cell(r, "group"), Format.Cell(r, "requests"), Format.Cell(r, "prompt_tokens"), Format.Cell(r, "completion_tokens"), Format.Cell(r, "total_tokens"), Ms(r, "avg_ttft_ms"), Ms(r, "avg_duration_ms"));
        return table;
    }
}
