using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Core.Generation;
using Sovereign.Models.Store;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>
/// Tool calling on /api/chat in Ollama's shape (tools in, <c>message.tool_calls</c> with arguments as an object out, tool
/// results back in the history), through the same per-family plan as /v1/chat/completions. The engine is scripted to
/// write what a tool-calling model writes (stories-chat uses chatml, so the Hermes format), since the tiny real model
/// cannot call tools and Ollama has no tool_choice to force one.
/// </summary>
public sealed class OllamaToolCallingTests : IAsyncLifetime
{
    private const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>";

    private static readonly JsonArray Tools = JsonNode.Parse("""
        [{"type":"function","function":{"name":"get_weather","description":"Weather forecast",
          "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]
        """)!.AsArray();

    private readonly ScriptedInference _engine = new((request, ct) => Play(request, ct));
    private TestHost _host = null!;
    private HttpClient _client = null!;

    /// <summary>Calls when the prompt offers tools and no tool result has come back yet; otherwise tells a story.</summary>
    private static IAsyncEnumerable<GenerationEvent> Play(GenerationRequest request, CancellationToken ct)
    {
        var prompt = string.Join("\n", request.Messages!.Select(m => m.Content));
        var calls = prompt.Contains("get_weather", StringComparison.Ordinal) && !prompt.Contains("18 degrees", StringComparison.Ordinal);
        return ScriptedInference.Play(calls ? ScriptedInference.Story(FinishReason.Stop, Call[..20], Call[20..50], Call[50..])
            : ScriptedInference.Story(FinishReason.Stop, "Once", " upon"), ct);
    }

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(inference: _engine);
        await new FileModelStore(_host.Paths).ImportAsync(TestFiles.Stories260K, ModelName.Parse("stories-chat"), "chatml");
        _client = _host.AdminClient();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static JsonObject Chat(bool stream, JsonArray? tools, params JsonNode[] messages) => new()
    {
        ["model"] = "stories-chat",
        ["messages"] = new JsonArray(messages.Length == 0 ? [new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" }] : messages),
        ["tools"] = tools?.DeepClone(),
        ["stream"] = stream,
    };

    private async Task<List<JsonNode>> LinesAsync(JsonObject body)
    {
        using var response = await _client.PostAsJsonAsync("api/chat", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)];
    }

    [Fact]
    public async Task A_call_comes_back_as_tool_calls_with_arguments_as_an_object_and_the_tools_reach_the_prompt()
    {
        var done = Assert.Single(await LinesAsync(Chat(stream: false, Tools)));

        Assert.True(done["done"]!.GetValue<bool>());
        var message = done["message"]!;
        Assert.Equal("", message["content"]!.GetValue<string>());
        var call = Assert.Single(message["tool_calls"]!.AsArray())!["function"]!;
        Assert.Equal("get_weather", call["name"]!.GetValue<string>());
        Assert.Equal("Paris", call["arguments"]!["city"]!.GetValue<string>());
        Assert.Equal(2, call["arguments"]!["days"]!.GetValue<int>());
        Assert.Contains(_engine.Requests[^1].Messages!, m => m.Role == "system" && m.Content.Contains("get_weather", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Streamed_the_call_arrives_whole_in_one_message_before_the_final_object_and_no_markup_leaks()
    {
        var lines = await LinesAsync(Chat(stream: true, Tools));

        Assert.Equal(2, lines.Count);
        Assert.Equal("get_weather", lines[0]["message"]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.False(lines[0]["done"]!.GetValue<bool>());
        Assert.True(lines[1]["done"]!.GetValue<bool>());
        Assert.DoesNotContain(lines, l => l["message"]?["content"]?.GetValue<string>().Contains("<tool_call>", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_tool_result_in_the_history_reaches_the_model_and_the_answer_is_text()
    {
        var lines = await LinesAsync(Chat(stream: false, Tools,
            new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" },
            new JsonObject
            {
                ["role"] = "assistant", ["content"] = "",
                ["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = new JsonObject { ["city"] = "Paris" } } }),
            },
            new JsonObject { ["role"] = "tool", ["content"] = "18 degrees and sunny" }));

        var message = Assert.Single(lines)["message"]!;
        Assert.Equal("Once upon", message["content"]!.GetValue<string>());
        Assert.Null(message["tool_calls"]);
        var prompt = _engine.Requests[^1].Messages!;
        Assert.Contains(prompt, m => m.Role == "assistant" && m.Content.Contains("\"city\": \"Paris\"", StringComparison.Ordinal) || m.Content.Contains("\"city\":\"Paris\"", StringComparison.Ordinal));
        Assert.Contains(prompt, m => m.Content.Contains("18 degrees and sunny", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_tools_text_streams_as_before_and_a_malformed_call_in_the_history_is_a_400_naming_it()
    {
        var lines = await LinesAsync(Chat(stream: true, tools: null));
        Assert.Equal(["Once", " upon", ""], lines.Select(l => l["message"]!["content"]!.GetValue<string>()));

        var bad = Chat(stream: false, Tools,
            new JsonObject { ["role"] = "user", ["content"] = "Hi" },
            new JsonObject { ["role"] = "assistant", ["content"] = "", ["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["arguments"] = 5 } }) });
        using var response = await _client.PostAsJsonAsync("api/chat", bad);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("messages[1].tool_calls[0]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
