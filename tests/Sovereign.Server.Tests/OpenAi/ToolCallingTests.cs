using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using OpenAI.Chat;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.OpenAi;

/// <summary>
/// Tool calling against the real tiny model. It cannot choose tools by itself; with tool_choice required or named, the
/// grammar makes whatever it samples a valid call, which is what these tests check (never that it "understood").
/// stories-chat uses the chatml template, so calls use the Hermes format.
/// </summary>
[Collection(SharedServerCollection.Name)]
public sealed class ToolCallingTests(SharedServerFixture fixture)
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":12},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":7}},
         "required":["city","unit","days"],"additionalProperties":false}
        """;

    private const string TimeSchema = """{"type":"object","properties":{"zone":{"type":"string","maxLength":8}},"required":["zone"]}""";

    private static readonly string Tools = $$"""
        [{"type":"function","function":{"name":"get_weather","description":"Weather forecast","parameters":{{WeatherSchema}} } },
         {"type":"function","function":{"name":"get_time","description":"Current time","parameters":{{TimeSchema}} } }]
        """;

    private readonly SovereignTestServer _server = fixture.Server;

    private static void AssertValidArguments(string name, string arguments)
    {
        var schema = name == "get_weather" ? WeatherSchema : TimeSchema;
        using var document = JsonDocument.Parse(arguments);
        Assert.True(JsonSchema.FromText(schema).Evaluate(document.RootElement).IsValid, $"{name}({arguments}) does not validate");
    }

    private static string Request(string choice, int seed, bool stream = false) => $$"""
        {"model":"stories-chat","messages":[{"role":"user","content":"What is the weather in Paris?"}],"tools":{{Tools}},
         "tool_choice":{{choice}},"max_tokens":600,"seed":{{seed}},"stream":{{(stream ? "true" : "false")}} }
        """;

    [Fact]
    public async Task A_required_call_comes_back_as_valid_tool_calls_for_every_seed()
    {
        for (var seed = 1; seed <= 4; seed++)
        {
            var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", Request("\"required\"", seed));

            Assert.Equal(HttpStatusCode.OK, status);
            var choice = body["choices"]![0]!;
            Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
            var message = choice["message"]!.AsObject();
            Assert.True(message.ContainsKey("content"));
            Assert.Null(message["content"]);
            var calls = message["tool_calls"]!.AsArray();
            Assert.NotEmpty(calls);
            foreach (var call in calls)
            {
                Assert.StartsWith("call_", call!["id"]!.GetValue<string>());
                Assert.Equal("function", call["type"]!.GetValue<string>());
                AssertValidArguments(call["function"]!["name"]!.GetValue<string>(), call["function"]!["arguments"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public async Task A_named_call_is_streamed_as_tool_call_deltas_with_valid_arguments()
    {
        for (var seed = 1; seed <= 3; seed++)
        {
            using var response = await _server.Http.PostAsync("v1/chat/completions",
                Http.Json(Request("""{"type":"function","function":{"name":"get_time"}}""", seed, stream: true)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            var (name, id, arguments, finish, content) = (default(string), default(string), new StringBuilder(), default(string), new StringBuilder());
            foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
            {
                if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
                var choice = JsonNode.Parse(line["data: ".Length..])!["choices"]!.AsArray().FirstOrDefault();
                if (choice is null) continue;
                finish ??= choice["finish_reason"]?.GetValue<string>();
                if (choice["delta"]!["content"] is { } text) content.Append(text.GetValue<string>());
                foreach (var call in choice["delta"]!["tool_calls"]?.AsArray() ?? [])
                {
                    Assert.Equal(0, call!["index"]!.GetValue<int>());
                    id ??= call["id"]?.GetValue<string>();
                    name ??= call["function"]!["name"]?.GetValue<string>();
                    arguments.Append(call["function"]!["arguments"]?.GetValue<string>());
                }
            }

            Assert.Equal("tool_calls", finish);
            Assert.Equal("get_time", name);
            Assert.StartsWith("call_", id);
            Assert.Equal("", content.ToString());
            AssertValidArguments("get_time", arguments.ToString());
        }
    }

    [Fact]
    public async Task The_official_sdk_gets_required_tool_calls_streamed_and_not()
    {
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 600,
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "Weather forecast", BinaryData.FromString(WeatherSchema)),
                ChatTool.CreateFunctionTool("get_time", "Current time", BinaryData.FromString(TimeSchema)),
            },
        };
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];

        var completion = (await _server.Chat().CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.NotEmpty(completion.ToolCalls);
        foreach (var call in completion.ToolCalls)
        {
            Assert.StartsWith("call_", call.Id);
            AssertValidArguments(call.FunctionName, call.FunctionArguments.ToString());
        }

        var names = new Dictionary<int, string>();
        var args = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        await foreach (var update in _server.Chat().CompleteChatStreamingAsync(messages, options))
        {
            finish ??= update.FinishReason;
            foreach (var part in update.ToolCallUpdates)
            {
                if (part.FunctionName is { } n) names[part.Index] = n;
                (args.TryGetValue(part.Index, out var sb) ? sb : args[part.Index] = new StringBuilder()).Append(part.FunctionArgumentsUpdate?.ToString());
            }
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotEmpty(names);
        foreach (var (index, name) in names) AssertValidArguments(name, args[index].ToString());

        // The calls and their results go back into the history; the next turn is answered in text.
        messages.Add(new AssistantChatMessage(completion.ToolCalls));
        foreach (var call in completion.ToolCalls) messages.Add(new ToolChatMessage(call.Id, "{\"temperature\": 21}"));
        var answer = (await _server.Chat().CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 20, Temperature = 0 })).Value;
        Assert.Equal(ChatFinishReason.Length, answer.FinishReason);
        Assert.False(string.IsNullOrEmpty(answer.Content[0].Text));
    }

    [Fact]
    public async Task A_tool_result_for_a_call_that_was_never_made_is_400()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", """
            {"model":"stories-chat","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_nope","content":"42"}]}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "messages[1].tool_call_id");
    }

    [Fact]
    public async Task Naming_a_function_that_is_not_among_the_tools_is_400()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", Request("""{"type":"function","function":{"name":"launch"}}""", 1));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", param: "tool_choice");
    }

    [Fact]
    public async Task A_tool_whose_parameters_cannot_be_enforced_is_400_naming_the_part()
    {
        var (status, body) = await _server.Http.PostJsonAsync("v1/chat/completions", """
            {"model":"stories-chat","messages":[{"role":"user","content":"hi"}],"tool_choice":"required",
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"d":{"type":"string","format":"date"}}}}}]}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertOpenAiError(body, "invalid_request_error", "unsupported_schema", "tools[0].function.parameters");
        Assert.Contains("/properties/d/format", error["message"]!.GetValue<string>());
    }
}
