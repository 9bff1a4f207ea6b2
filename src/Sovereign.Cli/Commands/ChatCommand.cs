using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sovereign.Cli.Commands;

/// <summary>`sov chat MODEL`: streams a chat with a running server, one prompt (--prompt or piped stdin) or interactively.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "name[:tag] of a model in the store." };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Send this one message and exit." };
        var system = new Option<string?>("--system") { Description = "A system message." };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens to generate per answer." };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (0 = greedy)." };
        var seed = new Option<uint?>("--seed") { Description = "Seed for reproducible sampling." };
        var command = new Command("chat", "Chat with a model through the running server.") { model, prompt, system, maxTokens, temperature, seed };
        command.SetAction(async (parse, ct) =>
        {
            using var client = new ServerClient();
            var history = new JsonArray();
            if (parse.GetValue(system) is { } s) history.Add(Message("system", s));

            async Task AskAsync(string text)
            {
                history.Add(Message("user", text));
                var body = new JsonObject
                {
                    ["model"] = parse.GetValue(model),
                    ["messages"] = history.DeepClone(),
                    ["stream"] = true,
                };
                if (parse.GetValue(maxTokens) is { } m) body["max_tokens"] = m;
                if (parse.GetValue(temperature) is { } t) body["temperature"] = t;
                if (parse.GetValue(seed) is { } sd) body["seed"] = sd;
                var answer = await StreamAsync(client, body, ct);
                history.Add(Message("assistant", answer));
            }

            if (parse.GetValue(prompt) is { } p)
            {
                await AskAsync(p);
                return 0;
            }
            if (Console.IsInputRedirected)
            {
                await AskAsync(await Console.In.ReadToEndAsync(ct));
                return 0;
            }
            Console.Error.WriteLine("Type a message and press Enter; /bye or Ctrl-D to leave.");
            while (true)
            {
                Console.Write(">>> ");
                var line = Console.ReadLine();
                if (line is null || line.Trim() == "/bye") return 0;
                if (line.Trim().Length == 0) continue;
                await AskAsync(line);
            }
        });
        return command;
    }

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    /// <summary>Prints content deltas as they arrive and returns the whole answer.</summary>
    private static async Task<string> StreamAsync(ServerClient client, JsonObject body, CancellationToken ct)
    {
        using var response = await client.PostStreamAsync("v1/chat/completions", body, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var answer = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line[6..];
            if (data == "[DONE]") break;
            var chunk = JsonNode.Parse(data);
            if (chunk?["error"] is { } error)
            {
                Console.WriteLine();
                throw new CliException(error["message"]?.GetValue<string>() ?? error.ToJsonString());
            }
            var delta = chunk?["choices"]?[0]?["delta"]?["content"];
            if (delta is not null && delta.GetValueKind() == JsonValueKind.String)
            {
                var text = delta.GetValue<string>();
                answer.Append(text);
                Console.Write(text);
            }
        }
        Console.WriteLine();
        return answer.ToString();
    }
}
