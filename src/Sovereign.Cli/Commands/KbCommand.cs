using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sovereign.Cli.Commands;

/// <summary>`sov kb …`: knowledge bases through the running server's /v1/knowledge API.</summary>
internal static class KbCommand
{
    public static Command Create()
    {
        var command = new Command("kb", "Knowledge bases: create, add documents, list, search (needs a running server).");

        var name = new Argument<string>("name") { Description = "The knowledge base's name (letters, digits, '.', '_', '-')." };
        var description = new Option<string?>("--description") { Description = "What the knowledge base holds." };
        var model = new Option<string?>("--embedding-model") { Description = "Embedding model (default: the server's, built-in all-minilm)." };
        var create = new Command("create", "Create a knowledge base.") { name, description, model };
        create.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject { ["name"] = parse.GetValue(name) };
            if (parse.GetValue(description) is { } d) body["description"] = d;
            if (parse.GetValue(model) is { } m) body["embedding_model"] = m;
            var kb = await client.PostAsync("v1/knowledge", body, ct);
            Console.WriteLine($"Created knowledge base {kb["name"]} ({kb["id"]}, embeddings: {kb["embedding_model"]})");
            return 0;
        });

        var list = new Command("list", "List knowledge bases.");
        list.Aliases.Add("ls");
        list.SetAction(async (_, ct) =>
        {
            using var client = new ServerClient();
            var bases = await client.GetAsync("v1/knowledge", ct);
            var table = new Table().AddColumns("ID", "NAME", "DOCUMENTS", "CHUNKS", "EMBEDDINGS", "CREATED");
            table.Columns[0].NoWrap();
            foreach (var kb in bases["data"]?.AsArray() ?? [])
                table.AddRow(S(kb, "id"), S(kb, "name"), S(kb, "document_count"), S(kb, "chunk_count"), S(kb, "embedding_model"), Date(kb, "created_at"));
            AnsiConsole.Write(table);
            return 0;
        });

        var kbArgument = new Argument<string>("kb") { Description = "The knowledge base's name or id." };
        var remove = new Command("rm", "Delete a knowledge base with all its documents.") { kbArgument };
        remove.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            await client.DeleteAsync($"v1/knowledge/{Uri.EscapeDataString(parse.GetValue(kbArgument)!)}", ct);
            Console.WriteLine($"Deleted knowledge base {parse.GetValue(kbArgument)}");
            return 0;
        });

        var files = new Argument<string[]>("files") { Description = "Files to add (PDF, DOCX, HTML, Markdown, text, CSV, PNG, JPEG, TIFF).", Arity = ArgumentArity.OneOrMore };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the server has stored the files, without waiting for ingestion." };
        var add = new Command("add", "Upload documents and wait, with a progress bar, until they are ingested.") { kbArgument, files, noWait };
        add.SetAction((parse, ct) => AddAsync(parse.GetValue(kbArgument)!, parse.GetValue(files)!, parse.GetValue(noWait), ct));

        var docs = new Command("docs", "List a knowledge base's documents with their status.") { kbArgument };
        docs.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var list = await client.GetAsync($"v1/knowledge/{Uri.EscapeDataString(parse.GetValue(kbArgument)!)}/documents", ct);
            var table = new Table().AddColumns("ID", "NAME", "TYPE", "PAGES", "CHUNKS", "STATUS", "ERROR");
            table.Columns[0].NoWrap();
            foreach (var d in list["data"]?.AsArray() ?? [])
            {
                var status = d?["status"]?.GetValue<string>() ?? "—";
                if (status is "queued" or "processing") status += $" {d?["progress"]?.GetValue<double>() * 100:0}%";
                table.AddRow(S(d, "id"), S(d, "name"), S(d, "media_type"), S(d, "pages"), S(d, "chunks"), Markup.Escape(status), S(d, "error"));
            }
            AnsiConsole.Write(table);
            return 0;
        });

        var query = new Argument<string>("query") { Description = "What to look for." };
        var topK = new Option<int>("--top-k", "-k") { Description = "How many passages (default 5).", DefaultValueFactory = _ => 5 };
        var mode = new Option<string>("--mode") { Description = "hybrid (default), vector or fulltext.", DefaultValueFactory = _ => "hybrid" };
        var search = new Command("search", "Search a knowledge base (hybrid: full text and vectors fused).") { kbArgument, query, topK, mode };
        search.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var body = new JsonObject { ["query"] = parse.GetValue(query), ["top_k"] = parse.GetValue(topK), ["mode"] = parse.GetValue(mode) };
            var results = await client.PostAsync($"v1/knowledge/{Uri.EscapeDataString(parse.GetValue(kbArgument)!)}/search", body, ct);
            var table = new Table().AddColumns("#", "SCORE", "DOCUMENT", "PAGE", "PASSAGE");
            var n = 0;
            foreach (var hit in results["data"]?.AsArray() ?? [])
            {
                var text = hit?["text"]?.GetValue<string>() ?? "";
                text = text.ReplaceLineEndings(" ");
                if (text.Length > 160) text = text[..157] + "...";
                table.AddRow((++n).ToString(CultureInfo.InvariantCulture), hit?["score"]?.GetValue<double>().ToString("0.0000", CultureInfo.InvariantCulture) ?? "—",
                    S(hit, "document_name"), S(hit, "page"), Markup.Escape(text));
            }
            AnsiConsole.Write(table);
            if (n == 0) Console.Error.WriteLine("No passage matched.");
            return 0;
        });

        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(remove);
        command.Subcommands.Add(add);
        command.Subcommands.Add(docs);
        command.Subcommands.Add(search);
        return command;
    }

    /// <summary>
    /// <list type="number">
    /// <item>Every file must exist and be readable before anything is sent.</item>
    /// <item>One multipart upload; the server answers once every original is stored.</item>
    /// <item>Unless --no-wait: a progress bar per document, polled until each is ready or failed.</item>
    /// </list>
    /// Exit code 1 when any document failed (each failure is printed with its reason).
    /// </summary>
    private static async Task<int> AddAsync(string kb, string[] paths, bool noWait, CancellationToken ct)
    {
        // :: Step 1
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new CliException($"No such file: {path}");
        }

        // :: Step 2
        using var client = new ServerClient();
        using var form = new MultipartFormDataContent();
        var streams = new List<Stream>();
        try
        {
            foreach (var path in paths)
            {
                var stream = File.OpenRead(path);
                streams.Add(stream);
                var part = new StreamContent(stream);
                part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(part, "file", Path.GetFileName(path));
            }
            var route = $"v1/knowledge/{Uri.EscapeDataString(kb)}/documents";
            var accepted = await client.PostContentAsync(route, form, ct);
            var documents = (accepted["data"]?.AsArray() ?? []).Select(d => (Id: d!["id"]!.GetValue<string>(), Name: d["name"]!.GetValue<string>())).ToList();
            if (noWait)
            {
                foreach (var (id, docName) in documents) Console.WriteLine($"{docName}: queued ({id})");
                return 0;
            }

            // :: Step 3
            var final = new Dictionary<string, JsonNode>();
            await AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var tasks = documents.ToDictionary(d => d.Id, d => progress.AddTask(Markup.Escape(d.Name), maxValue: 100));
                    while (final.Count < documents.Count)
                    {
                        foreach (var (id, _) in documents.Where(d => !final.ContainsKey(d.Id)))
                        {
                            var doc = await client.GetAsync($"{route}/{id}", ct);
                            var status = doc["status"]?.GetValue<string>();
                            tasks[id].Value = (doc["progress"]?.GetValue<double>() ?? 0) * 100;
                            if (status is "ready" or "failed")
                            {
                                tasks[id].Value = 100;
                                tasks[id].StopTask();
                                final[id] = doc;
                            }
                        }
                        if (final.Count < documents.Count) await Task.Delay(250, ct);
                    }
                });

            var failed = 0;
            foreach (var (id, docName) in documents)
            {
                var doc = final[id];
                if (doc["status"]?.GetValue<string>() == "ready")
                    Console.WriteLine($"{docName}: ready, {doc["chunks"]} chunks ({id})");
                else
                {
                    failed++;
                    Console.Error.WriteLine($"sov: {docName}: failed: {doc["error"]}");
                }
            }
            return failed == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var s in streams) await s.DisposeAsync();
        }
    }

    private static string S(JsonNode? node, string field) => Markup.Escape(node?[field]?.ToString() is { Length: > 0 } v ? v : "—");

    private static string Date(JsonNode? node, string field) => node?[field] is JsonValue v && v.TryGetValue<long>(out var unix)
        ? DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : S(node, field);
}
