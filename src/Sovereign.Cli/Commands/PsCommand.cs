using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov ps`: the models the running server has loaded, their memory and when they unload.</summary>
internal static class PsCommand
{
    public static Command Create()
    {
        var command = new Command("ps", "List the models the server has loaded now.");
        command.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var health = await client.GetAsync("health", ct);
            var loaded = health["loaded"] as JsonArray ?? [];
            if (loaded.Count == 0)
            {
                Console.WriteLine("No models loaded.");
                return 0;
            }
            var table = new Table().AddColumns("NAME", "MEMORY", "SLOTS", "ACTIVE", "PID", "UNTIL");
            foreach (var m in loaded)
            {
                var expires = m?["expires_at"] is JsonValue e && e.TryGetValue<DateTimeOffset>(out var at)
                    ? Until(at)
                    : (m?["active"]?.GetValue<int>() ?? 0) > 0 ? "in use" : "forever";
                table.AddRow(Markup.Escape(m?["name"]?.ToString() ?? "?"), Format.Bytes(m?["memory_bytes"]?.GetValue<long>() ?? 0),
                    m?["slots"]?.ToString() ?? "?", m?["active"]?.ToString() ?? "?", m?["process_id"]?.ToString() ?? "?", expires);
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static string Until(DateTimeOffset at)
    {
        var left = at - DateTimeOffset.UtcNow;
        return left <= TimeSpan.Zero ? "now" : string.Create(CultureInfo.InvariantCulture, $"{(int)left.TotalMinutes} min {left.Seconds} s from now");
    }
}
