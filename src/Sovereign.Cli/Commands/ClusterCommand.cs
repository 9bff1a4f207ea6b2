using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov cluster status|drain NODE`: the nodes of the cluster the server belongs to, through its admin API.</summary>
internal static class ClusterCommand
{
    public static Command Create()
    {
        var command = new Command("cluster", "The nodes of the cluster this server belongs to.");

        var status = new Command("status", "List the nodes: health, loaded models, queue depths.");
        status.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var nodes = (await client.GetAsync("admin/cluster", ct))["data"] as JsonArray ?? [];
            var table = new Table().AddColumns("NODE", "HEALTH", "ADDRESS", "CORES", "GPUS", "MEMORY", "RUNNING", "LOADED (QUEUE/SLOTS)", "STORED");
            foreach (var n in nodes)
            {
                var loaded = (n?["loaded"] as JsonArray ?? [])
                    .Select(m => $"{m?["name"]} ({m?["queue_depth"]}/{m?["slots"]})");
                var stored = (n?["models"] as JsonArray ?? []).Select(m => m?.ToString());
                var memory = n?["memory_budget_bytes"] is null ? "?"
                    : $"{Format.Bytes(n["memory_used_bytes"]?.GetValue<long>() ?? 0)} / {Format.Bytes(n["memory_budget_bytes"]!.GetValue<long>())}";
                var name = (n?["name"]?.ToString() ?? "?") + (n?["local"]?.GetValue<bool>() == true ? " *" : "");
                table.AddRow(Markup.Escape(name), Markup.Escape(n?["health"]?.ToString() ?? "?"), Markup.Escape(n?["id"]?.ToString() ?? "?"),
                    n?["cores"]?.ToString() ?? "?", n?["gpus"]?.ToString() ?? "?", memory, n?["in_flight"]?.ToString() ?? "?",
                    Markup.Escape(string.Join(", ", loaded)), Markup.Escape(string.Join(", ", stored)));
            }
            AnsiConsole.Write(table);
            Console.WriteLine("* the node that answered");
            // Knowledge in the shared database: which nodes search vectors with pgvector and which in memory.
            var vectors = nodes.Where(n => n?["vector_search"] is not null)
                .GroupBy(n => n!["vector_search"]!.ToString(), n => n!["name"]?.ToString() ?? "?")
                .Select(g => $"{(g.Key == "pgvector" ? "pgvector, in the database" : "in memory, partitioned")} ({string.Join(", ", g)})")
                .ToList();
            if (vectors.Count > 0) Console.WriteLine($"Knowledge vector search: {string.Join("; ", vectors)}");
            return 0;
        });

        var drain = new Command("drain", "Stop sending new work to NODE; it finishes its running streams, then leaves the cluster.");
        var node = new Argument<string>("node") { Description = "The node's name (or address) as `sov cluster status` shows it." };
        drain.Arguments.Add(node);
        drain.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var name = parse.GetValue(node)!;
            var result = await client.PostAsync($"admin/cluster/nodes/{Uri.EscapeDataString(name)}/drain", new JsonObject(), ct);
            Console.WriteLine($"Node {result["name"]} is draining: {result["in_flight"] ?? 0} generations still running; it leaves the cluster when they end.");
            return 0;
        });

        command.Subcommands.Add(status);
        command.Subcommands.Add(drain);
        return command;
    }
}
