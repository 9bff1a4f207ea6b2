using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Sovereign.Server.Tests.EndToEnd;

namespace Sovereign.Server.Tests.Ollama;

/// <summary>
/// Tool calling on Ollama's /api/chat against the real tiny model, through the same per-family plan and grammar as the
/// OpenAI API. The model cannot choose tools by itself, so these tests force a call with tool_choice (an extension
/// Ollama lacks) and check that whatever it sampled comes back as a valid call in Ollama's shape.
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed class OllamaForcedToolCallTests(SharedServerFixture fixture)
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},
         "required":["city","days"],"additionalProperties":false}
        """;

    private readonly SovereignTestServer _server = fixture.Server;

    private static JsonArray Tools() =>
    [
        new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "get_weather", ["description"] = "Weather forecast", ["parameters"] = JsonNode.Parse(WeatherSchema) },
        },
    ];

    private static JsonObject Request(bool stream, int seed, JsonArray? messages = null, JsonNode? toolChoice = null) => new()
    {
        ["model"] = SovereignTestServer.ChatModel,
        ["messages"] = messages ?? [new JsonObject { ["role"] = "user", ["content"] = "What is the weather in Paris?" }],
        ["tools"] = Tools(),
        ["tool_choice"] = toolChoice ?? "required",
        ["stream"] = stream,
        ["options"] = new JsonObject { ["seed"] = seed, ["num_predict"] = 300 },
    };

    private static void AssertValidCall(JsonNode? call)
    {
        var function = call!["function"]!;
        Assert.Equal("get_weather", function["name"]!.GetValue<string>());
        var arguments = Assert.IsType<JsonObject>(function["arguments"]);
        using var document = JsonDocument.Parse(arguments.ToJsonString());
        Assert.True(JsonSchema.FromText(WeatherSchema).Evaluate(document.RootElement).IsValid, $"arguments {arguments.ToJsonString()} do not validate");
        Assert.Null(call["id"]);
    }

    private static async Task<List<JsonObject>> ReadNdjsonAsync(HttpResponseMessage response) =>
        [.. (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => Assert.IsType<JsonObject>(JsonNode.Parse(line)))];

    [Fact]
    public async Task A_forced_call_comes_back_in_the_message_with_arguments_as_an_object()
    {
        for (var seed = 1; seed <= 3; seed++)
        {
            using var response = await _server.Http.PostAsJsonAsync("api/chat", Request(stream: false, seed));
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((bool)body!["done"]!);
            var message = body["message"]!;
            Assert.Equal("assistant", (string?)message["role"]);
            var calls = message["tool_calls"]!.AsArray();
            Assert.NotEmpty(calls);
            foreach (var call in calls) AssertValidCall(call);
        }
    }

    [Fact]
    public async Task A_streamed_forced_call_arrives_as_one_chunk_with_tool_calls_before_done()
    {
        using var response = await _server.Http.PostAsJsonAsync("api/chat",
            Request(stream: true, seed: 5, toolChoice: new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather" } }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = await ReadNdjsonAsync(response);

        Assert.True((bool)lines[^1]["done"]!);
        var withCalls = lines.Where(l => l["message"]?["tool_calls"] is not null).ToList();
        var chunk = Assert.Single(withCalls);
        Assert.False((bool)chunk["done"]!);
        Assert.Equal("", (string?)chunk["message"]!["content"]);
        AssertValidCall(Assert.Single(chunk["message"]!["tool_calls"]!.AsArray()));
        Assert.All(lines.Where(l => !ReferenceEquals(l, chunk)), l => Assert.Equal("", (string?)l["message"]!["content"]));
    }

    [Fact]
    public async Task A_tool_result_in_the_history_reaches_the_prompt()
    {
        JsonArray History(string result) =>
        [
            new JsonObject { ["role"] = "user", ["content"] = "What is the weather in Paris?" },
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = "",
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = new JsonObject { ["city"] = "Paris", ["days"] = 1 } },
                }),
            },
            new JsonObject { ["role"] = "tool", ["tool_name"] = "get_weather", ["content"] = result },
        ];
        async Task<int> PromptTokensAsync(string result)
        {
            var request = Request(stream: false, seed: 1, History(result), toolChoice: "none");
            request["options"]!["num_predict"] = 2;
            using var response = await _server.Http.PostAsJsonAsync("api/chat", request);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Null(body!["message"]!["tool_calls"]);
            return (int)body["prompt_eval_count"]!;
        }

        var short_ = await PromptTokensAsync("sun");
        var long_ = await PromptTokensAsync("sun and rain and wind and snow over the whole town all the day long");

        Assert.True(long_ > short_, $"a longer tool result gave {long_} prompt tokens, the short one {short_}");
    }

    [Fact]
    public async Task A_tool_message_that_answers_no_call_is_400()
    {
        var messages = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "Hi" },
            new JsonObject { ["role"] = "tool", ["tool_name"] = "get_weather", ["content"] = "sun" });
        using var response = await _server.Http.PostAsJsonAsync("api/chat", Request(stream: false, seed: 1, messages));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("messages[1]", (string?)body!["error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forcing_a_function_that_is_not_among_the_tools_is_400()
    {
        using var response = await _server.Http.PostAsJsonAsync("api/chat",
            Request(stream: false, seed: 1, toolChoice: new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "launch" } }));
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("launch", (string?)body!["error"], StringComparison.Ordinal);
    }
}
