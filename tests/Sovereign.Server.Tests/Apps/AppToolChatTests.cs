using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sovereign.Agents.Tools.Calculator;
using Sovereign.Core.Generation;
using Sovereign.Server.Tests.Infrastructure;

namespace Sovereign.Server.Tests.Apps;

/// <summary>
/// Chatting through <c>model: "app:&lt;id&gt;"</c> with an app that has tools, on the real engine and the real tiny model:
/// the engine is offered the app's tools, a call (forced with tool_choice, since the tiny model never decides to call
/// one) runs on the server, its result is in the next step's prompt, and the client gets the final answer as an ordinary
/// chat completion with the call in <c>tool_steps</c>, whole and streamed, on /v1 and on Ollama's /api/chat.
/// </summary>
public sealed class AppToolChatTests : IClassFixture<AppToolChatTests.Fixture>
{
    private const string ForceCalculator = """{"type": "function", "function": {"name": "calculator"}}""";

    private readonly AppsServer _server;

    public AppToolChatTests(Fixture fixture) => _server = fixture.Server;

    public sealed class Fixture : IAsyncLifetime
    {
        internal AppsServer Server { get; private set; } = null!;

        // The test MCP server twice: as "test", and as "gated", whose "add" needs a person's approval.
        public async Task InitializeAsync() => Server = await AppsServer.StartAsync(
            "--Sovereign:Agents:McpServers:test:Command=dotnet",
            $"--Sovereign:Agents:McpServers:test:Arguments:0={Agents.AgentsFixture.TestMcpServerDll()}",
            "--Sovereign:Agents:McpServers:gated:Command=dotnet",
            $"--Sovereign:Agents:McpServers:gated:Arguments:0={Agents.AgentsFixture.TestMcpServerDll()}",
            "--Sovereign:Agents:McpServers:gated:RequireApproval:0=add");

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    /// <summary>An app on the tiny model with the given tools, greedy and seeded so answers repeat; published.</summary>
    private async Task CreateAppAsync(string id, params string[] tools)
    {
        var body = new JsonObject
        {
            ["id"] = id,
            ["name"] = id,
            ["model"] = AppsServer.ChatModel,
            ["instructions"] = "You help with sums. Use the calculator for arithmetic.",
            ["tools"] = new JsonArray([.. tools.Select(t => (JsonNode)t)]),
            ["sampling"] = new JsonObject { ["temperature"] = 0, ["seed"] = 7 },
        };
        var (created, createdBody) = await _server.Admin.PostJsonAsync("v1/apps", body.ToJsonString());
        Assert.True(created == HttpStatusCode.Created, createdBody.ToJsonString());
        var (published, publishedBody) = await _server.Admin.PostJsonAsync($"v1/apps/{id}/publish", "");
        Assert.True(published == HttpStatusCode.OK, publishedBody.ToJsonString());
    }

    /// <summary>The names in the Hermes tools block of a system prompt (one JSON object per line between the tags).</summary>
    internal static List<string> OfferedTools(string system)
    {
        var start = system.IndexOf("<tools>\n", StringComparison.Ordinal);
        if (start < 0) return [];
        var end = system.IndexOf("</tools>", start, StringComparison.Ordinal);
        return [.. system[(start + 8)..end].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonNode.Parse(line)!)
            .Select(tool => (tool["function"]?["name"] ?? tool["name"])!.GetValue<string>())];
    }

    /// <summary>The engine requests one chat made, in order: each model step's id is the response id and the step.</summary>
    private List<GenerationRequest> StepsOf(string responseId) =>
        [.. _server.Engine.Requests.Where(r => r.Id.StartsWith(responseId + "-", StringComparison.Ordinal)).OrderBy(r => r.Id, StringComparer.Ordinal)];

    private static string ChatBody(string model, string content, string extra = "") =>
        $$"""{"model": "{{model}}", "messages": [{"role": "user", "content": {{JsonValue.Create(content).ToJsonString()}}}]{{extra}}}""";

    private static async Task<List<JsonNode>> ReadSseAsync(HttpResponseMessage response)
    {
        var events = new List<JsonNode>();
        var done = false;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]")
            {
                done = true;
                continue;
            }
            Assert.False(done, "an event after [DONE]");
            events.Add(JsonNode.Parse(line[6..])!);
        }
        Assert.True(done, "the stream ended without [DONE]");
        return events;
    }

    [Fact]
    public async Task The_engine_is_offered_the_apps_tools_and_nothing_else()
    {
        await CreateAppAsync("offered", "calculator", "date_time");

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions", ChatBody("app:offered", "What is 2 + 2?", """, "max_tokens": 5"""));

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var steps = StepsOf(body["id"]!.GetValue<string>());
        var first = Assert.Single(steps); // the tiny model does not call a tool unless forced: one step, the answer
        Assert.Equal(["calculator", "date_time"], OfferedTools(first.Messages![0].Content));
        Assert.StartsWith("You help with sums.", first.Messages[0].Content, StringComparison.Ordinal);
        Assert.Null(first.Grammar); // auto: nothing forces a call
        Assert.Equal(5, first.MaxTokens);
        Assert.Equal(0f, first.Sampling.Temperature);
        Assert.Equal(7u, first.Sampling.Seed);
        Assert.Equal("chat.completion", body["object"]!.GetValue<string>());
        Assert.Empty(body["tool_steps"]!.AsArray());
    }

    [Fact]
    public async Task A_forced_calculator_call_runs_on_the_server_and_its_result_is_in_the_next_steps_prompt()
    {
        await CreateAppAsync("sums", "calculator");

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            ChatBody("app:sums", "What is 12 * 3?", $$""", "max_tokens": 160, "tool_choice": {{ForceCalculator}}"""));

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var step = Assert.Single(body["tool_steps"]!.AsArray())!;
        Assert.Equal("calculator", step["name"]!.GetValue<string>());
        Assert.False(step["is_error"]!.GetValue<bool>(), step.ToJsonString());
        Assert.Equal(1, step["step"]!.GetValue<int>());
        var expression = JsonNode.Parse(step["arguments"]!.GetValue<string>())!["expression"]!.GetValue<string>();
        var expected = (await new CalculatorTool().InvokeAsync(System.Text.Json.JsonDocument.Parse(step["arguments"]!.GetValue<string>()).RootElement, default)).Content;
        Assert.Equal(expected, step["result"]!.GetValue<string>());

        var steps = StepsOf(body["id"]!.GetValue<string>());
        Assert.Equal(2, steps.Count);
        Assert.NotNull(steps[0].Grammar); // the call was forced by the grammar
        Assert.Null(steps[1].Grammar); // then the model is free to answer
        var secondPrompt = string.Join("\n", steps[1].Messages!.Select(m => m.Content));
        Assert.Contains(expression, secondPrompt, StringComparison.Ordinal); // the call, as the model made it
        Assert.Contains(expected, steps[1].Messages!.Last(m => m.Role is "tool" or "user").Content, StringComparison.Ordinal); // and the result, fed back

        // The answer is an ordinary chat completion; its usage is both steps', as recorded for the app step by step.
        var choice = body["choices"]![0]!;
        Assert.Equal("assistant", choice["message"]!["role"]!.GetValue<string>());
        Assert.IsType<string>(choice["message"]!["content"]!.GetValue<string>());
        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        var (_, usage) = await _server.Admin.GetJsonAsync("v1/usage?app_id=sums");
        var records = usage["data"]!.AsArray();
        Assert.Equal(2, records.Count);
        Assert.Equal(records.Sum(r => r!["prompt_tokens"]!.GetValue<int>()), body["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(records.Sum(r => r!["completion_tokens"]!.GetValue<int>()), body["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Streamed_the_tool_step_comes_first_then_the_answer_with_both_steps_usage()
    {
        await CreateAppAsync("sums-stream", "calculator");
        var extra = $$""", "max_tokens": 160, "tool_choice": {{ForceCalculator}}""";
        using var response = await _server.Admin.PostAsync("v1/chat/completions",
            Http.Json(ChatBody("app:sums-stream", "What is 7 + 5?", extra + """, "stream": true, "stream_options": {"include_usage": true}""")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var events = await ReadSseAsync(response);

        Assert.All(events, e => Assert.Equal("chat.completion.chunk", e["object"]!.GetValue<string>()));
        Assert.Equal("assistant", events[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        var toolChunk = Assert.Single(events, e => e["tool_steps"] is not null);
        Assert.Empty(toolChunk["choices"]!.AsArray());
        var streamedStep = Assert.Single(toolChunk["tool_steps"]!.AsArray())!;
        Assert.Equal("calculator", streamedStep["name"]!.GetValue<string>());
        Assert.False(streamedStep["is_error"]!.GetValue<bool>(), streamedStep.ToJsonString());
        var toolAt = events.IndexOf(toolChunk);
        var text = new StringBuilder();
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i]["choices"]!.AsArray() is [{ } c] && c["delta"]!["content"]?.GetValue<string>() is { Length: > 0 } piece)
            {
                Assert.True(i > toolAt, "answer text before the tool step");
                text.Append(piece);
            }
        }
        Assert.Equal("stop", events.Single(e => e["choices"]!.AsArray() is [{ } c] && c["finish_reason"] is not null)["choices"]![0]!["finish_reason"]!.GetValue<string>());
        // The usage chunk, last, counts both steps: what was recorded for this response's steps.
        var usage = events[^1]["usage"]!;
        Assert.Empty(events[^1]["choices"]!.AsArray());
        var id = events[0]["id"]!.GetValue<string>();
        var (_, recorded) = await _server.Admin.GetJsonAsync("v1/usage?app_id=sums-stream");
        var steps = recorded["data"]!.AsArray().Where(r => r!["request_id"]!.GetValue<string>().StartsWith(id + "-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, steps.Count);
        Assert.Equal(steps.Sum(r => r!["prompt_tokens"]!.GetValue<int>() + r["completion_tokens"]!.GetValue<int>()), usage["total_tokens"]!.GetValue<int>());
        // (Greedy decoding on a shared engine is not bit-identical from run to run, so the texts are not compared.)
        Assert.Equal(160, StepsOf(id)[1].MaxTokens);
    }

    [Fact]
    public async Task Ollama_chat_runs_the_apps_tools_too_whole_and_streamed()
    {
        await CreateAppAsync("sums-ollama", "calculator");
        var request = $$"""{"model": "app:sums-ollama", "messages": [{"role": "user", "content": "What is 9 - 4?"}], "options": {"num_predict": 160}, "tool_choice": {{ForceCalculator}}""";

        var (status, whole) = await _server.Admin.PostJsonAsync("api/chat", request + """, "stream": false}""");

        Assert.True(status == HttpStatusCode.OK, whole.ToJsonString());
        Assert.True(whole["done"]!.GetValue<bool>());
        Assert.Equal("stop", whole["done_reason"]!.GetValue<string>());
        Assert.Equal("assistant", whole["message"]!["role"]!.GetValue<string>());
        Assert.Null(whole["message"]!["tool_calls"]);
        var step = Assert.Single(whole["tool_steps"]!.AsArray())!;
        Assert.Equal("calculator", step["name"]!.GetValue<string>());
        Assert.False(step["is_error"]!.GetValue<bool>());
        var chatSteps = _server.Engine.Requests.Where(r => r.Messages?.Any(m => m.Content.Contains("What is 9 - 4?", StringComparison.Ordinal)) == true).ToList();
        Assert.Equal(2, chatSteps.Count);
        Assert.Equal(["calculator"], OfferedTools(chatSteps[0].Messages![0].Content));
        Assert.Contains(step["result"]!.GetValue<string>(), chatSteps[1].Messages!.Last(m => m.Role is "tool" or "user").Content, StringComparison.Ordinal);
        Assert.True(whole["prompt_eval_count"]!.GetValue<int>() > 0);

        using var response = await _server.Admin.PostAsync("api/chat", Http.Json(request + "}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal("calculator", lines[0]["tool_steps"]![0]!["name"]!.GetValue<string>());
        Assert.True(lines[^1]["done"]!.GetValue<bool>());
        Assert.False(lines[0]["tool_steps"]![0]!["is_error"]!.GetValue<bool>());
        Assert.All(lines.Skip(1), l => Assert.Null(l["tool_steps"]));
        Assert.Equal("stop", lines[^1]["done_reason"]!.GetValue<string>());
        Assert.Equal("", lines[^1]["message"]!["content"]!.GetValue<string>()); // streamed, the text came before
        Assert.True(lines[^1]["eval_count"]!.GetValue<int>() > 0);
    }

    [Fact]
    public async Task An_apps_mcp_tool_is_offered_beside_its_built_ins_and_runs_on_the_server()
    {
        await CreateAppAsync("mcp-sums", "calculator", "mcp:test/add");

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            ChatBody("app:mcp-sums", "Add two numbers.", """, "max_tokens": 160, "tool_choice": {"type": "function", "function": {"name": "add"}}"""));

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var steps = StepsOf(body["id"]!.GetValue<string>());
        Assert.Equal(["calculator", "add"], OfferedTools(steps[0].Messages![0].Content)); // only "add" of the server's tools
        var step = Assert.Single(body["tool_steps"]!.AsArray())!;
        Assert.Equal("add", step["name"]!.GetValue<string>());
        Assert.False(step["is_error"]!.GetValue<bool>(), step.ToJsonString());
        var arguments = JsonNode.Parse(step["arguments"]!.GetValue<string>())!;
        Assert.Equal((arguments["a"]!.GetValue<long>() + arguments["b"]!.GetValue<long>()).ToString(System.Globalization.CultureInfo.InvariantCulture), step["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tool_that_needs_a_persons_approval_is_refused_in_a_chat_without_waiting()
    {
        await CreateAppAsync("gated-sums", "mcp:gated/add");
        var started = System.Diagnostics.Stopwatch.StartNew();

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            ChatBody("app:gated-sums", "Add two numbers.", """, "max_tokens": 160, "tool_choice": "required" """));

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var step = Assert.Single(body["tool_steps"]!.AsArray())!;
        Assert.Equal("add", step["name"]!.GetValue<string>());
        Assert.True(step["is_error"]!.GetValue<bool>(), step.ToJsonString()); // not run: no one can approve from a chat
        Assert.Equal("stop", body["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(5), "the chat waited for an approval"); // the approval timeout is 15 minutes
    }

    [Fact]
    public async Task A_streamed_conversation_through_an_app_with_tools_keeps_the_answer_the_client_saw()
    {
        await CreateAppAsync("sums-conv", "calculator");
        var (created, conversation) = await _server.Admin.PostJsonAsync("v1/conversations", """{"model": "app:sums-conv"}""");
        Assert.True(created == HttpStatusCode.Created, conversation.ToJsonString());
        var id = conversation["id"]!.GetValue<string>();

        using var response = await _server.Admin.PostAsync($"v1/conversations/{id}/messages",
            Http.Json($$"""{"content": "What is 6 * 7?", "stream": true, "max_tokens": 160, "tool_choice": {{ForceCalculator}}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await ReadSseAsync(response);
        Assert.Single(events, e => e["tool_steps"] is not null);
        var streamed = string.Concat(events.Select(e => e["choices"]!.AsArray() is [{ } c] ? c["delta"]!["content"]?.GetValue<string>() : null));
        var (_, kept) = await _server.Admin.GetJsonAsync($"v1/conversations/{id}");
        Assert.Equal(["user", "assistant"], kept["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal(streamed, kept["messages"]![1]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_app_without_tools_answers_in_one_generation_as_before()
    {
        var (created, body) = await _server.Admin.PostJsonAsync("v1/apps",
            """{"id": "plain", "name": "Plain", "model": "stories-chat", "instructions": "Be brief."}""");
        Assert.True(created == HttpStatusCode.Created, body.ToJsonString());
        await _server.Admin.PostJsonAsync("v1/apps/plain/publish", "");

        var (status, answer) = await _server.Admin.PostJsonAsync("v1/chat/completions", ChatBody("app:plain", "Hello", """, "max_tokens": 4"""));

        Assert.True(status == HttpStatusCode.OK, answer.ToJsonString());
        Assert.Null(answer["tool_steps"]);
        var request = _server.Engine.Last;
        Assert.Equal(answer["id"]!.GetValue<string>(), request.Id);
        Assert.Equal([("system", "Be brief."), ("user", "Hello")], request.Messages!.Select(m => (m.Role, m.Content)));
    }

    [Fact]
    public async Task A_client_that_sends_its_own_tools_gets_its_calls_back_and_the_apps_tools_are_not_run()
    {
        await CreateAppAsync("client-tools", "calculator");
        const string weather = """[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Tabriz", "Shiraz"]}}, "required": ["city"]}}}]""";

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            ChatBody("app:client-tools", "Weather?", $$""", "max_tokens": 400, "tools": {{weather}}, "tool_choice": "required" """));

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        Assert.Null(body["tool_steps"]);
        var choice = body["choices"]![0]!;
        Assert.True(choice["finish_reason"]!.GetValue<string>() == "tool_calls", body.ToJsonString());
        Assert.Equal("weather", choice["message"]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        var request = _server.Engine.Last;
        Assert.Equal(["weather"], OfferedTools(request.Messages![0].Content));
        Assert.StartsWith("You help with sums.", request.Messages[0].Content, StringComparison.Ordinal); // still the app's instructions
    }

    [Fact]
    public async Task A_step_the_engine_refuses_is_answered_with_the_engines_error_as_without_tools()
    {
        await CreateAppAsync("too-long", "calculator");
        var words = string.Join(' ', Enumerable.Repeat("once upon a time there was a little dog", 3000)); // far past 16384 tokens

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions", ChatBody("app:too-long", words, """, "max_tokens": 5"""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "context_length_exceeded");
    }

    [Fact]
    public async Task A_response_format_cannot_be_combined_with_an_apps_tools()
    {
        await CreateAppAsync("no-schema", "calculator");

        var (status, body) = await _server.Admin.PostJsonAsync("v1/chat/completions",
            ChatBody("app:no-schema", "Sum?", """, "response_format": {"type": "json_object"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Http.AssertOpenAiError(body, "invalid_request_error", "unsupported_with_app_tools", "response_format");
    }
}
