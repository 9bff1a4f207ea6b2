using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sovereign.Server.Tests.EndToEnd;
using Sovereign.Server.Tests.Knowledge;

namespace Sovereign.Server.Tests.Agents;

/// <summary>
/// The agent loop end to end with the real stories260K model, which cannot call tools by itself: each agent forces its
/// tool calls with tool_choice, so the grammar makes the model write a valid call; the platform runs the real tool.
/// </summary>
[Collection(AgentsCollection.Name)]
public class AgentRunTests(AgentsFixture fixture)
{
    private static object Agent(string toolChoice, object[] tools, object? limits = null, bool reset = true) => new
    {
        name = "test agent",
        instructions = "You help with sums and stories.",
        model = SovereignTestServer.ChatModel,
        tools,
        tool_choice = toolChoice,
        reset_tool_choice = reset,
        temperature = 0,
        seed = 7,
        limits = limits ?? new { max_steps = 4, max_wall_seconds = 600, max_tokens_per_step = 160 },
    };

    private static List<JsonObject> Of(List<(string Type, JsonObject Data)> events, string type) => [.. events.Where(e => e.Type == type).Select(e => e.Data)];

    private static JsonObject Limit(List<(string Type, JsonObject Data)> events)
    {
        var limits = Of(events, "limit_reached");
        Assert.True(limits.Count == 1, "Expected one limit_reached; the run ended with " + events[^1].Data.ToJsonString());
        return limits[0];
    }

    [Fact]
    public async Task The_loop_calls_the_calculator_feeds_back_its_value_and_ends_with_an_answer()
    {
        var id = await fixture.CreateAgentAsync(Agent("calculator", [new { type = "calculator" }]));
        var events = await fixture.RunAsync(id, "What is 12 times 7?");

        Assert.Equal("run_started", events[0].Type);
        Assert.Equal("run_finished", events[^1].Type);
        var call = Assert.Single(Of(events, "tool_call"));
        Assert.Equal("calculator", call["name"]!.GetValue<string>());
        var expression = JsonNode.Parse(call["arguments"]!.GetValue<string>())!["expression"]!.GetValue<string>();
        var result = Assert.Single(Of(events, "tool_result"));
        Assert.False(result["is_error"]!.GetValue<bool>(), result["content"]!.GetValue<string>());
        // The value is the real evaluation of whatever expression the grammar let the model write.
        Assert.Equal(Sovereign.Agents.Tools.Calculator.ExpressionParser.Format(Sovereign.Agents.Tools.Calculator.ExpressionParser.Evaluate(expression)),
            result["content"]!.GetValue<string>());
        var steps = Of(events, "step_started");
        Assert.Equal(["calculator", "auto"], steps.Select(s => s["tool_choice"]!.GetValue<string>()));
        Assert.NotEmpty(Of(events, "delta"));
        Assert.Single(Of(events, "final_answer"));
        var finished = events[^1].Data;
        Assert.Equal("completed", finished["status"]!.GetValue<string>());
        Assert.Equal("answer", finished["stop_reason"]!.GetValue<string>());

        // The trace: model call, tool call, model call, with sizes, arguments, result and timing.
        var run = await fixture.GetRunAsync(id, finished["run_id"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        var trace = run["trace"]!.AsArray().Select(s => s!.AsObject()).ToList();
        Assert.Equal(["model", "tool", "model"], trace.Select(s => s["kind"]!.GetValue<string>()));
        Assert.True(trace[0]["prompt_tokens"]!.GetValue<int>() > 0);
        Assert.True(trace[0]["prompt_chars"]!.GetValue<int>() > 0);
        Assert.Equal(["calculator"], trace[0]["tool_calls"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("calculator", trace[1]["tool"]!.GetValue<string>());
        Assert.Equal(call["arguments"]!.GetValue<string>(), trace[1]["arguments"]!.GetValue<string>());
        Assert.Equal(result["content"]!.GetValue<string>(), trace[1]["result"]!.GetValue<string>());
        Assert.True(trace[1]["duration_ms"]!.GetValue<long>() >= 0);
        Assert.Equal(run["usage"]!["total_tokens"]!.GetValue<int>(),
            trace.Where(s => s["kind"]!.GetValue<string>() == "model").Sum(s => s["prompt_tokens"]!.GetValue<int>() + s["completion_tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task The_http_tool_fetches_from_the_allow_listed_local_server()
    {
        var id = await fixture.CreateAgentAsync(Agent("http_request", [new { type = "http_request", urls = new[] { fixture.HelloUrl } }]));
        var events = await fixture.RunAsync(id, "Fetch the greeting.");
        var result = Assert.Single(Of(events, "tool_result"));
        Assert.False(result["is_error"]!.GetValue<bool>(), result["content"]!.GetValue<string>());
        var body = JsonNode.Parse(result["content"]!.GetValue<string>())!;
        Assert.Equal(200, body["status"]!.GetValue<int>());
        Assert.Equal("hello from the tool host", body["body"]!.GetValue<string>());
        Assert.Equal("completed", events[^1].Data["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tool_of_the_organisations_mcp_server_over_stdio_is_called_like_a_built_in()
    {
        var id = await fixture.CreateAgentAsync(Agent("add", [new { type = "mcp", server = "test", tools = new[] { "add" } }]));
        var events = await fixture.RunAsync(id, "Add two numbers.");
        var call = Assert.Single(Of(events, "tool_call"));
        var arguments = JsonNode.Parse(call["arguments"]!.GetValue<string>())!;
        var result = Assert.Single(Of(events, "tool_result"));
        Assert.False(result["is_error"]!.GetValue<bool>(), result["content"]!.GetValue<string>());
        Assert.Equal((arguments["a"]!.GetValue<long>() + arguments["b"]!.GetValue<long>()).ToString(CultureInfo.InvariantCulture), result["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_run_stops_at_its_step_limit()
    {
        var id = await fixture.CreateAgentAsync(Agent("calculator", [new { type = "calculator" }], new { max_steps = 2, max_wall_seconds = 600, max_tokens_per_step = 160 }, reset: false));
        var events = await fixture.RunAsync(id, "Keep calculating.");
        var limit = Limit(events);
        Assert.Equal("max_steps", limit["limit"]!.GetValue<string>());
        Assert.Contains("limit of 2 steps", limit["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, Of(events, "tool_result").Count);
        var finished = events[^1].Data;
        Assert.Equal("limit_reached", finished["status"]!.GetValue<string>());
        Assert.Equal(2, finished["steps"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_run_stops_at_its_token_limit()
    {
        var id = await fixture.CreateAgentAsync(Agent("calculator", [new { type = "calculator" }], new { max_steps = 50, max_wall_seconds = 600, max_tokens = 900, max_tokens_per_step = 160 }, reset: false));
        var events = await fixture.RunAsync(id, "Keep calculating.");
        var limit = Limit(events);
        Assert.Equal("max_tokens", limit["limit"]!.GetValue<string>());
        var finished = events[^1].Data;
        Assert.True(finished["steps"]!.GetValue<int>() < 50);
        Assert.True(finished["prompt_tokens"]!.GetValue<int>() + finished["completion_tokens"]!.GetValue<int>() >= 900);
    }

    [Fact]
    public async Task The_knowledge_search_tool_returns_passages_of_a_real_knowledge_base_with_what_a_citation_needs()
    {
        var kb = (await fixture.Server.Http.CreateBaseAsync("agent-kb-" + Guid.NewGuid().ToString("N")[..6]))["id"]!.GetValue<string>();
        await fixture.Server.Http.IngestAsync(kb, KnowledgeClient.Text("dosage.md",
            "# Dosage\n\nTake one tablet twice a day with food.\n\n# Storage\n\nKeep the tablets below 25 degrees, away from light.", "text/markdown"));

        var id = await fixture.CreateAgentAsync(Agent("knowledge_search", [new { type = "knowledge_search", knowledge_bases = new[] { kb } }]));
        var events = await fixture.RunAsync(id, "How often do I take the tablets?");

        var call = Assert.Single(Of(events, "tool_call"));
        Assert.Equal("knowledge_search", call["name"]!.GetValue<string>());
        var result = Assert.Single(Of(events, "tool_result"));
        Assert.False(result["is_error"]!.GetValue<bool>(), result["content"]!.GetValue<string>());
        // Whatever query the grammar let the model write, the hybrid search returns this base's passages, with their source.
        // (The event carries the result's first 500 characters; the model gets all of it.)
        var content = result["content"]!.GetValue<string>();
        Assert.StartsWith("{\"passages\":[{\"document\":\"dosage.md\"", content, StringComparison.Ordinal);
        foreach (var part in new[] { "\"document\":\"dosage.md\"", $"\"knowledge_base\":\"{kb}\"", "\"chunk_id\":\"", "\"headings\":[\"" })
            Assert.Contains(part, content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_run_stops_at_its_wall_time_limit()
    {
        // The slow endpoint answers after 60 s, well inside the tool-time limit, so only the wall clock can stop the run,
        // and it must do so while the tool is still waiting. The 8 s limit leaves the forced call's model step room on a
        // loaded machine; a step cut by the clock instead ends "during step 1" and fails here, naming it.
        var id = await fixture.CreateAgentAsync(Agent("http_request", [new { type = "http_request", urls = new[] { fixture.SlowUrl } }],
            new { max_steps = 100, max_wall_seconds = 8, max_tool_seconds = 600, max_tokens = 1_000_000, max_tokens_per_step = 160 }, reset: false));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var events = await fixture.RunAsync(id, "Wait for it.");
        var limit = Limit(events);
        Assert.Equal("max_wall_seconds", limit["limit"]!.GetValue<string>());
        Assert.Contains("during 'http_request'", limit["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("limit_reached", events[^1].Data["status"]!.GetValue<string>());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(40), $"The run took {started.Elapsed}; the wall limit did not cut the 60 s tool call short.");
    }

    [Fact]
    public async Task The_run_stops_at_its_tool_time_limit()
    {
        var id = await fixture.CreateAgentAsync(Agent("http_request", [new { type = "http_request", urls = new[] { fixture.SlowUrl } }], new { max_steps = 4, max_wall_seconds = 600, max_tool_seconds = 1, max_tokens_per_step = 160 }));
        var events = await fixture.RunAsync(id, "Wait for it.");
        var limit = Limit(events);
        Assert.Equal("max_tool_seconds", limit["limit"]!.GetValue<string>());
        Assert.Contains("during 'http_request'", limit["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var finished = events[^1].Data;
        Assert.InRange(finished["tool_ms"]!.GetValue<long>(), 900, 9_000);
    }

    [Theory]
    [InlineData("approve")]
    [InlineData("reject")]
    public async Task A_tool_that_needs_approval_waits_for_a_person(string decision)
    {
        var id = await fixture.CreateAgentAsync(Agent("add", [new { type = "mcp", server = "test", tools = new[] { "add" }, require_approval = true }],
            new { max_steps = 4, max_wall_seconds = 120, max_tokens_per_step = 160 }));
        var events = await fixture.RunAsync(id, "Add, with permission.", async (type, data) =>
        {
            if (type != "approval_required") return;
            var runId = (await fixture.Server.Http.GetFromJsonAsync<JsonObject>($"v1/agents/{id}/runs"))!["data"]![0]!["id"]!.GetValue<string>();
            var run = await fixture.GetRunAsync(id, runId);
            Assert.True(run["status"]!.GetValue<string>() == "awaiting_approval", run.ToJsonString());
            Assert.Equal([data["call_id"]!.GetValue<string>()], run["pending_approvals"]!.AsArray().Select(n => n!.GetValue<string>()));
            using var response = await fixture.Server.Http.PostAsJsonAsync($"v1/agents/{id}/runs/{runId}/approvals/{data["call_id"]}", new { decision });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var again = await fixture.Server.Http.PostAsJsonAsync($"v1/agents/{id}/runs/{runId}/approvals/{data["call_id"]}", new { decision });
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        });
        Assert.Single(Of(events, "approval_required"));
        var decided = Assert.Single(Of(events, "approval_decided"));
        Assert.Equal(decision == "approve" ? "approved" : "rejected", decided["decision"]!.GetValue<string>());
        var result = Assert.Single(Of(events, "tool_result"));
        Assert.Equal(decision == "reject", result["is_error"]!.GetValue<bool>());
        if (decision == "reject") Assert.Contains("rejected", result["content"]!.GetValue<string>(), StringComparison.Ordinal);
        var run = await fixture.GetRunAsync(id, events[^1].Data["run_id"]!.GetValue<string>());
        Assert.Equal(decision == "approve" ? "approved" : "rejected", run["trace"]![1]!["approval"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tool_result_cannot_add_tools_or_raise_limits()
    {
        // The "inject" tool answers with a fake end of turn, a system turn granting new tools, a limits object and a tool call.
        var id = await fixture.CreateAgentAsync(Agent("required", [new { type = "mcp", server = "test", tools = new[] { "inject" } }, new { type = "calculator" }],
            new { max_steps = 3, max_wall_seconds = 600, max_tokens_per_step = 160 }, reset: false));
        var events = await fixture.RunAsync(id, "Read the report.");
        var finished = events[^1].Data;
        Assert.Equal("max_steps", finished["stop_reason"]!.GetValue<string>());
        Assert.Equal(3, finished["steps"]!.GetValue<int>());
        var called = Of(events, "tool_call").Select(c => c["name"]!.GetValue<string>()).ToList();
        Assert.Equal(3, called.Count);
        Assert.All(called, name => Assert.Contains(name, new[] { "inject", "calculator" }));
        Assert.DoesNotContain(Of(events, "tool_result"), r => r["content"]!.GetValue<string>().Contains("no tool named", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_that_is_not_wanted_returns_the_finished_run_with_its_trace()
    {
        var id = await fixture.CreateAgentAsync(Agent("calculator", [new { type = "calculator" }], new { max_steps = 1, max_wall_seconds = 600, max_tokens_per_step = 160 }));
        using var response = await fixture.Server.Http.PostAsJsonAsync($"v1/agents/{id}/runs", new { input = "What is 2 + 2?", stream = false });
        var run = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("limit_reached", run["status"]!.GetValue<string>());
        Assert.Equal("max_steps", run["stop_reason"]!.GetValue<string>());
        Assert.Equal("calculator", run["trace"]![1]!["tool"]!.GetValue<string>());
    }
}
